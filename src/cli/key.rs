//! The access key (MRZ or CAN) from the command line, a file, the environment, the
//! emulator profile or a prompt. Command lines leak into `ps` and shell history,
//! so `--mrz-file`, `$EMRTD_MRZ` / `$EMRTD_CAN` and the prompt are the better ways.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use zeroize::Zeroizing;

use crate::access::password::{MrzKey, Password};

/// Key options shared by `read` and `verify`.
#[derive(Debug, Clone, Args, Default)]
pub struct KeyArgs {
    /// Full MRZ (TD1/TD2/TD3), lines separated by newlines, `\n` or spaces.
    #[arg(long, value_name = "MRZ", conflicts_with_all = ["mrz_file", "doc_number", "can"])]
    pub mrz: Option<String>,
    /// Read the MRZ from a file (keeps it out of `ps` and shell history).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["doc_number", "can"])]
    pub mrz_file: Option<PathBuf>,
    /// Document number (with --birth and --expiry).
    #[arg(long, value_name = "X", requires_all = ["birth", "expiry"], conflicts_with = "can")]
    pub doc_number: Option<String>,
    /// Date of birth YYMMDD (with --doc-number).
    #[arg(long, value_name = "YYMMDD", requires = "doc_number")]
    pub birth: Option<String>,
    /// Date of expiry YYMMDD (with --doc-number).
    #[arg(long, value_name = "YYMMDD", requires = "doc_number")]
    pub expiry: Option<String>,
    /// Card access number (PACE only).
    #[arg(long, value_name = "NNNNNN")]
    pub can: Option<String>,
}

fn check_yymmdd(what: &str, v: &str) -> anyhow::Result<String> {
    let v = v.trim();
    if v.len() != 6 || !v.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{what} must be six digits YYMMDD");
    }
    Ok(v.to_string())
}

/// MRZ text to a key; the error names what is wrong without echoing the MRZ.
pub fn key_from_mrz_text(text: &str) -> anyhow::Result<Password> {
    let mrz = crate::mrz::Mrz::parse(text).context("the MRZ given as access key cannot be parsed")?;
    Ok(Password::Mrz(MrzKey::from_mrz(&mrz)?))
}

fn can_password(can: &str) -> anyhow::Result<Password> {
    let can = can.trim();
    if can.is_empty() || !can.bytes().all(|b| b.is_ascii_digit()) {
        bail!("the CAN must be digits (usually six, printed on the document)");
    }
    Ok(Password::can(can)?)
}

impl KeyArgs {
    /// True when some key was given explicitly (arguments or environment).
    pub fn given(&self) -> bool {
        self.mrz.is_some()
            || self.mrz_file.is_some()
            || self.doc_number.is_some()
            || self.can.is_some()
            || std::env::var_os("EMRTD_MRZ").is_some()
            || std::env::var_os("EMRTD_CAN").is_some()
    }

    /// Resolve the key: arguments, then `$EMRTD_MRZ`, `$EMRTD_CAN`, then the profile's
    /// MRZ (emulator), then a prompt when stdin is a terminal.
    pub fn resolve(&self, profile_mrz: Option<&str>) -> anyhow::Result<Password> {
        if let Some(m) = &self.mrz {
            return key_from_mrz_text(m);
        }
        if let Some(p) = &self.mrz_file {
            let text = Zeroizing::new(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read MRZ file {}", p.display()))?,
            );
            return key_from_mrz_text(&text);
        }
        if let (Some(d), Some(b), Some(e)) = (&self.doc_number, &self.birth, &self.expiry) {
            let doc = d.trim().to_ascii_uppercase();
            if doc.is_empty() || !doc.chars().all(|c| c.is_ascii_alphanumeric() || c == '<') {
                bail!("the document number may hold only letters, digits and '<'");
            }
            return Ok(Password::Mrz(MrzKey::new(
                &doc,
                &check_yymmdd("--birth", b)?,
                &check_yymmdd("--expiry", e)?,
            )?));
        }
        if let Some(c) = &self.can {
            return can_password(c);
        }
        if let Ok(m) = std::env::var("EMRTD_MRZ") {
            let m = Zeroizing::new(m);
            return key_from_mrz_text(&m).context("in $EMRTD_MRZ");
        }
        if let Ok(c) = std::env::var("EMRTD_CAN") {
            let c = Zeroizing::new(c);
            return can_password(&c).context("in $EMRTD_CAN");
        }
        if let Some(m) = profile_mrz {
            return key_from_mrz_text(m).context("the emulator profile's MRZ");
        }
        if std::io::stdin().is_terminal() {
            let answer = Zeroizing::new(
                rpassword::prompt_password("MRZ (lines separated by spaces) or CAN: ")
                    .context("cannot read the access key from the terminal")?,
            );
            let t = answer.trim();
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                return can_password(t);
            }
            return key_from_mrz_text(t);
        }
        Err(anyhow::Error::new(super::output::Hinted {
            message: "no access key".into(),
            hint: "give --mrz-file FILE, --mrz, --doc-number/--birth/--expiry, --can, or set $EMRTD_MRZ / $EMRTD_CAN"
                .into(),
        }))
    }
}
