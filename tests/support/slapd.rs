//! Test support: a real OpenLDAP `slapd` (Debian package `slapd`) started by the test
//! itself, on 127.0.0.1 with random free ports, a temporary `slapd.conf` and an mdb
//! database in a temporary directory; plain LDAP and LDAPS with a test CA, server and
//! client certificates made here with the `openssl` command; optionally
//! `TLSVerifyClient demand`, a syncrepl provider (`syncprov` overlay) or a consumer of
//! another slapd. It never touches a system slapd (own config, own ports, own pid file)
//! and is stopped by PID when dropped (also on panic).
//!
//! The schema is the repository's `docs/ldap/icao-pkd.schema` after OpenLDAP's core,
//! cosine and inetorgperson schemas. Searches by anonymous clients are limited to 1000
//! entries unless paged (`size.pr=500`), as a production mirror would be configured, so a
//! client that does not page fails visibly.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// The directory's suffix (the PKD download tree sits below it).
pub const SUFFIX: &str = "dc=icao,dc=int";
/// The administrator (rootdn) and its password, for ldapmodify and replication.
pub const ROOT_DN: &str = "cn=admin,dc=icao,dc=int";
/// The rootdn's password (a test password).
pub const ROOT_PW: &str = "test-only-secret";

/// Find an OpenLDAP binary (`/usr/sbin` is not on every PATH).
pub fn bin(name: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Why slapd cannot run here (binary or schema missing), or `None` when it can.
pub fn unavailable() -> Option<String> {
    for b in ["slapd", "slapadd"] {
        if !bin(b).exists() {
            return Some(format!(
                "{b} not installed (Debian packages slapd and ldap-utils: `make deps`)"
            ));
        }
    }
    if !Path::new("/etc/ldap/schema/core.schema").exists() {
        return Some("OpenLDAP schemas missing in /etc/ldap/schema".into());
    }
    None
}

/// A free TCP port on 127.0.0.1 (bound then released; slapd binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Test TLS material, PEM files in `dir`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Directory holding them.
    pub dir: PathBuf,
    /// The test CA (issues the server and the good client certificate).
    pub ca: PathBuf,
    /// Server certificate (SAN IP 127.0.0.1, DNS localhost) and key.
    pub server_cert: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
    /// A client certificate the server accepts, and its key.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A client certificate from another CA (the server refuses it), and its key.
    pub rogue_cert: PathBuf,
    /// Its key.
    pub rogue_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TlsFiles {
    /// Make a CA, a server certificate, a client certificate and a rogue client
    /// certificate (another CA) in `dir` (P-256, valid 2 days).
    pub fn make(dir: &Path) -> TlsFiles {
        std::fs::create_dir_all(dir).unwrap();
        let ca_pair = |name: &str, cn: &str| {
            openssl(
                dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    cn,
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.pem"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
        };
        ca_pair("ca", "/CN=emrtd test LDAP CA");
        ca_pair("rogue-ca", "/CN=emrtd rogue CA");
        let leaf = |name: &str, cn: &str, ca: &str, ext: &str| {
            openssl(
                dir,
                &[
                    "req",
                    "-new",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-subj",
                    cn,
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            );
            std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    &format!("{name}.ext"),
                    "-out",
                    &format!("{name}.pem"),
                ],
            );
        };
        leaf(
            "server",
            "/CN=127.0.0.1",
            "ca",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        leaf(
            "client",
            "/CN=emrtd desk 1",
            "ca",
            "extendedKeyUsage=clientAuth\n",
        );
        leaf(
            "rogue",
            "/CN=emrtd rogue desk",
            "rogue-ca",
            "extendedKeyUsage=clientAuth\n",
        );
        TlsFiles {
            dir: dir.to_path_buf(),
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            rogue_cert: dir.join("rogue.pem"),
            rogue_key: dir.join("rogue.key"),
        }
    }
}

/// How to run one slapd.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// LDAPS listener with these certificates (and StartTLS on the plain port).
    pub tls: Option<TlsFiles>,
    /// `TLSVerifyClient demand`: a TLS client must present a certificate of the test CA.
    pub verify_client: bool,
    /// Load the `syncprov` overlay (a syncrepl provider, and what answers a desk's RFC 4533
    /// refresh; a consumer with it serves its own consumers and desks: cascading).
    pub provider: bool,
    /// `syncprov-sessionlog N` (with `provider`): the last N changes are kept, so that a
    /// refresh from a recent cookie returns only what changed.
    pub sessionlog: Option<usize>,
    /// Replicate from this provider URL (`ldap://127.0.0.1:PORT`) with syncrepl
    /// refreshAndPersist.
    pub consumer_of: Option<String>,
    /// Load this LDIF with slapadd before the first start.
    pub load: Option<PathBuf>,
    /// Log every operation (`-d stats`) into `slapd.log` (a test can follow the client).
    pub log_stats: bool,
}

/// A running slapd.
#[derive(Debug)]
pub struct Slapd {
    child: Option<Child>,
    /// Its working directory (config, database, log).
    pub dir: PathBuf,
    /// Plain LDAP port.
    pub port: u16,
    /// LDAPS port (when TLS is configured).
    pub tls_port: u16,
    conf: PathBuf,
    urls: String,
    cfg: Config,
}

fn schema_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ldap/icao-pkd.schema")
}

impl Slapd {
    /// Write the configuration into `dir` (made empty), load `cfg.load`, start.
    pub fn start(dir: &Path, cfg: Config) -> Slapd {
        if dir.exists() {
            std::fs::remove_dir_all(dir).unwrap();
        }
        let db = dir.join("db");
        std::fs::create_dir_all(&db).unwrap();
        let port = free_port();
        let tls_port = if cfg.tls.is_some() { free_port() } else { 0 };
        let mut conf = String::new();
        for s in ["core", "cosine", "inetorgperson"] {
            conf.push_str(&format!("include /etc/ldap/schema/{s}.schema\n"));
        }
        conf.push_str(&format!("include {}\n", schema_file().display()));
        conf.push_str("modulepath /usr/lib/ldap\nmoduleload back_mdb\n");
        if cfg.provider {
            conf.push_str("moduleload syncprov\n");
        }
        conf.push_str(&format!(
            "pidfile {}\nargsfile {}\n",
            dir.join("slapd.pid").display(),
            dir.join("slapd.args").display()
        ));
        if let Some(t) = &cfg.tls {
            conf.push_str(&format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\nTLSVerifyClient {}\n",
                t.ca.display(),
                t.server_cert.display(),
                t.server_key.display(),
                if cfg.verify_client { "demand" } else { "never" }
            ));
        }
        conf.push_str(&format!(
            "database mdb\nsuffix \"{SUFFIX}\"\nrootdn \"{ROOT_DN}\"\nrootpw {ROOT_PW}\ndirectory {}\nmaxsize 4294967296\n\
             index objectClass eq\nindex pkdVersion eq\nindex entryCSN,entryUUID eq\n\
             limits anonymous size.soft=1000 size.hard=1000 size.pr=500 size.prtotal=unlimited\n\
             access to * by * read\n",
            db.display()
        ));
        if let Some(p) = &cfg.consumer_of {
            conf.push_str(&format!(
                "syncrepl rid=001 provider={p} type=refreshAndPersist retry=\"1 +\" searchbase=\"{SUFFIX}\" \
                 bindmethod=simple binddn=\"{ROOT_DN}\" credentials={ROOT_PW} timeout=5\n"
            ));
        }
        if cfg.provider {
            conf.push_str("overlay syncprov\nsyncprov-checkpoint 100 1\n");
            if let Some(n) = cfg.sessionlog {
                conf.push_str(&format!("syncprov-sessionlog {n}\n"));
            }
        }
        let conf_path = dir.join("slapd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        if let Some(ldif) = &cfg.load {
            let out = Command::new(bin("slapadd"))
                .args(["-q", "-f"])
                .arg(&conf_path)
                .arg("-l")
                .arg(ldif)
                .output()
                .expect("run slapadd");
            assert!(
                out.status.success(),
                "slapadd: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut urls = format!("ldap://127.0.0.1:{port}/");
        if cfg.tls.is_some() {
            urls.push_str(&format!(" ldaps://127.0.0.1:{tls_port}/"));
        }
        let mut s = Slapd {
            child: None,
            dir: dir.to_path_buf(),
            port,
            tls_port,
            conf: conf_path,
            urls,
            cfg,
        };
        s.launch();
        s
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("slapd.log"))
            .unwrap();
        let child = Command::new(bin("slapd"))
            .arg("-f")
            .arg(&self.conf)
            .arg("-h")
            .arg(&self.urls)
            .args(["-d", if self.cfg.log_stats { "stats" } else { "0" }])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start slapd");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                panic!(
                    "slapd exited ({st}) at start: {}",
                    std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default()
                );
            }
            let plain = TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            let tls = self.tls_port == 0 || TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok();
            if plain && tls {
                return;
            }
            assert!(Instant::now() < deadline, "slapd did not listen within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `ldap://127.0.0.1:PORT/BASE`.
    pub fn url(&self, base: &str) -> String {
        format!("ldap://127.0.0.1:{}/{base}", self.port)
    }

    /// `ldaps://127.0.0.1:PORT/BASE`.
    pub fn ldaps_url(&self, base: &str) -> String {
        format!("ldaps://127.0.0.1:{}/{base}", self.tls_port)
    }

    /// `ldap://127.0.0.1:PORT` (a syncrepl provider address).
    pub fn provider_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Apply LDIF change records (ldapmodify as the rootdn over plain LDAP).
    pub fn modify(&self, ldif: &str) {
        let path = self.dir.join(format!("change-{}.ldif", std::process::id()));
        std::fs::write(&path, ldif).unwrap();
        self.modify_file(&path);
    }

    /// Apply an LDIF file of change records (or plain entries, added).
    pub fn modify_file(&self, path: &Path) {
        let out = Command::new(bin("ldapmodify"))
            .args([
                "-x",
                "-a",
                "-H",
                &format!("ldap://127.0.0.1:{}", self.port),
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PW,
                "-f",
            ])
            .arg(path)
            .output()
            .expect("run ldapmodify");
        assert!(
            out.status.success(),
            "ldapmodify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// How many entries answer `filter` below `base` (ldapsearch as the rootdn, DNs only).
    pub fn count(&self, base: &str, filter: &str) -> usize {
        self.dns(base, filter).len()
    }

    /// The DNs of the entries that answer `filter` below `base` (ldapsearch as the rootdn).
    pub fn dns(&self, base: &str, filter: &str) -> Vec<String> {
        let out = Command::new(bin("ldapsearch"))
            .args([
                "-x",
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-H",
                &format!("ldap://127.0.0.1:{}", self.port),
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PW,
                "-b",
                base,
                filter,
                "1.1",
            ])
            .output()
            .expect("run ldapsearch");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| match l.strip_prefix("dn:: ") {
                // a DN that is not printable ASCII comes base64-encoded
                Some(b) => {
                    use base64::Engine;
                    let raw = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
                    Some(String::from_utf8_lossy(&raw).into_owned())
                }
                None => l.strip_prefix("dn: ").map(str::to_owned),
            })
            .collect()
    }

    /// Wait until `filter` below `base` has `n` entries (replication), at most `secs`.
    pub fn wait_count(&self, base: &str, filter: &str, n: usize, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let c = self.count(base, filter);
            if c == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{filter} below {base}: {c} entries, waited for {n}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The log so far (`slapd.log`; with `log_stats`, one line per operation).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("slapd.log")).unwrap_or_default()).into_owned()
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL (a crash): no clean shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGKILL);
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (a clean stop).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start again (same config, ports and database) after [`Slapd::stop`] or
    /// [`Slapd::kill9`].
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// slapadd of `ldif` into a fresh database in `dir` (no server), for timing.
pub fn slapadd_only(dir: &Path, ldif: &Path) -> std::time::Duration {
    let s = Slapd::configure_only(dir);
    let t = Instant::now();
    let out = Command::new(bin("slapadd"))
        .args(["-q", "-f"])
        .arg(&s)
        .arg("-l")
        .arg(ldif)
        .output()
        .expect("run slapadd");
    let e = t.elapsed();
    assert!(
        out.status.success(),
        "slapadd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    e
}

impl Slapd {
    /// Write a plain configuration (no TLS, no replication) into `dir`, return its path.
    fn configure_only(dir: &Path) -> PathBuf {
        let mut s = Slapd::start(dir, Config::default());
        s.stop();
        std::fs::remove_dir_all(dir.join("db")).unwrap();
        std::fs::create_dir_all(dir.join("db")).unwrap();
        s.conf.clone()
    }
}

/// A PKD-shaped tree for slapadd in `dir/tree.ldif`: the fixture PKI
/// (`pkd-fixtures/pki`: its LDIF entries, CRL files and deviation list) plus `n_dsc`
/// generated DSCs and `n_crl` CRLs of generated countries
/// ([`emrtd::pki::fixtures::write_big_ldif`]), and `extra` entries. Returns the path
/// and the number of PKD entries (containers not counted).
pub fn build_tree(
    dir: &Path,
    n_dsc: usize,
    n_crl: usize,
    extra: Vec<emrtd::pki::ldif::LdifRecord>,
) -> (PathBuf, usize) {
    use emrtd::pki::fixtures::pkd_tree;
    std::fs::create_dir_all(dir).unwrap();
    let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/pki");
    let mut records = pkd_tree::fixture_pki_records(&pki, 500).unwrap();
    if n_dsc + n_crl > 0 {
        let big = dir.join("big.ldif");
        emrtd::pki::fixtures::write_big_ldif(&big, n_dsc, n_crl).unwrap();
        // the generated collection's versions start above the fixture PKI's
        for mut r in pkd_tree::read_ldif(&big).unwrap() {
            for a in r
                .attrs
                .iter_mut()
                .filter(|a| a.name.eq_ignore_ascii_case("pkdVersion"))
            {
                let v: u64 = String::from_utf8_lossy(&a.value).trim().parse().unwrap();
                a.value = (v + 1000).to_string().into_bytes();
            }
            records.push(r);
        }
        std::fs::remove_file(&big).unwrap();
    }
    records.extend(extra);
    let out = dir.join("tree.ldif");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    let s = pkd_tree::write_tree(&mut w, SUFFIX, &records).unwrap();
    std::io::Write::flush(&mut w).unwrap();
    (out, s.entries)
}

// -- the desk side: `emrtd --store STORE …` against these servers

/// The CSCAs a desk trusts (the fixture PKI's).
pub const ALL_ANCHORS: &[&str] = &[
    "10-ut-csca-1.cer",
    "10-ut-csca-2.cer",
    "10-xa-csca-explicit.cer",
    "10-xb-csca.pem",
    "10-xc-csca-expired.cer",
];

/// The emrtd binary under test.
const EMRTD: &str = env!("CARGO_BIN_EXE_emrtd");

/// `emrtd --store STORE ARGS…`.
pub fn emrtd(store: &Path, args: &[&str]) -> Output {
    Command::new(EMRTD)
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run emrtd")
}

/// `emrtd --json pkd sync URL --retries 1 --timeout 20 EXTRA…`: exit code, report, stderr.
pub fn sync_json(store: &Path, url: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--json", "pkd", "sync", url, "--retries", "1", "--timeout", "20"];
    args.extend_from_slice(extra);
    let out = emrtd(store, &args);
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, json, stderr)
}

/// A number of the report.
pub fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} missing in {v}"))
}

/// Start `emrtd --store STORE -q pkd sync URL` and SIGKILL it after `delay` (the
/// desk killed in the middle of a run).
pub fn sync_killed_after(store: &Path, url: &str, delay: std::time::Duration) {
    let mut child = Command::new(EMRTD)
        .args(["--store", &store.display().to_string(), "-q", "pkd", "sync", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run emrtd");
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// `emrtd pkd import` of fixture PKI files (anchors) into `store`.
pub fn import_anchors(store: &Path, files: &[&str]) {
    let paths: Vec<String> = files
        .iter()
        .map(|f| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("pkd-fixtures/pki")
                .join(f)
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["-q", "pkd", "import"];
    args.extend(paths.iter().map(String::as_str));
    let out = emrtd(store, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
