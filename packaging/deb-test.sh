#!/bin/bash
# make deb-test: install the .deb from `make deb` on a CLEAN minimal Debian (debootstrap
# --variant=minbase from Debian's mirror, unpacked afresh into target/deb-test/root each
# run) with apt, so its dependencies resolve from the archive, then use it there as a
# desk user would: version, man pages, completions, the systemd user unit, and
# `emrtd desk --emulator` fed one MRZ on stdin until GET /state shows VALID.
# Needs root (debootstrap, chroot), network to the mirror, curl and jq on the host.
set -euo pipefail

SUITE=${DEB_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DIR=target/deb-test
BASE=$DIR/$SUITE-base
ROOT=$DIR/root
say() { printf '== deb-test: %s\n' "$*"; }
fail() { printf 'deb-test FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap and chroot)"
for t in debootstrap curl jq dpkg-deb; do command -v $t >/dev/null || fail "$t is missing"; done
DEB=$(ls -t target/debian/emrtd_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || fail "no target/debian/emrtd_*.deb: run make deb first"
VERSION=$(dpkg-deb -f "$DEB" Version)
say "package $DEB ($VERSION)"

# the package's dependencies, as dpkg-shlibdeps computed them from the binary
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
say "Depends: $DEPENDS"
# (libgcc_s.so.1 is needed too: cargo-deb leaves libgcc-s1 out, as libc6 depends on it)
for lib in libc6 libpcsclite1 libssl3; do
  grep -q "\b$lib\b" <<<"$DEPENDS" || fail "Depends lacks $lib: $DEPENDS"
done
# nothing the binary does not link (e.g. a -dev package, or sqlite: it is bundled)
extra=$(tr ',' '\n' <<<"$DEPENDS" | sed 's/[ (].*//; s/^ *//' | grep -vxE 'libc6|libpcsclite1|libssl3|libgcc-s1' || true)
[ -z "$extra" ] || fail "unexpected dependencies: $extra"

if [ ! -d "$BASE" ]; then
  say "debootstrap $SUITE (minbase) from $MIRROR into $BASE"
  rm -rf "$BASE.tmp"
  debootstrap --variant=minbase "$SUITE" "$BASE.tmp" "$MIRROR" > "$DIR/debootstrap.log" 2>&1 \
    || fail "debootstrap failed (see $DIR/debootstrap.log)"
  mv "$BASE.tmp" "$BASE"
fi
say "a fresh root from the pristine $SUITE base"
if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc"; fi
rm -rf "$ROOT"
cp -a "$BASE" "$ROOT"
DESK_PID=""
cleanup() {
  [ -n "$DESK_PID" ] && kill "$DESK_PID" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  mountpoint -q "$ROOT/proc" && umount "$ROOT/proc" || true
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
as_officer() { chroot --userspec=officer:officer "$ROOT" env -i PATH=/usr/bin:/bin HOME=/home/officer LANG=C.UTF-8 "$@"; }

[ -z "$(in_root dpkg-query -W -f='${Status}' libpcsclite1 2>/dev/null | grep installed || true)" ] \
  || fail "the base already has libpcsclite1: not a clean test of the dependencies"
cp "$DEB" "$ROOT/tmp/emrtd.deb"
say "apt-get install ./emrtd.deb (and man-db to look the pages up)"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/emrtd.deb man-db \
  > "$DIR/apt-install.log" 2>&1 || { tail -20 "$DIR/apt-install.log"; fail "apt-get install of the package failed"; }
grep -E '^(Unpacking|Setting up) ' "$DIR/apt-install.log" | sed 's/^/   /' | head -20

say "emrtd --version"
v=$(in_root emrtd --version)
echo "   $v"
[[ "$v" == "emrtd ${VERSION%%-*}"* ]] || fail "version $v does not match the package $VERSION"

say "man pages"
for page in emrtd emrtd-desk emrtd-verify; do
  p=$(in_root man -w "$page") || fail "man -w $page found nothing"
  echo "   $page: $p"
done
in_root sh -c 'MANWIDTH=100 man emrtd-desk 2>/dev/null' | grep -q -- '--audit-syslog' \
  || fail "man emrtd-desk does not document --audit-syslog"

say "completions, unit, configuration"
for f in /usr/share/bash-completion/completions/emrtd /usr/share/zsh/vendor-completions/_emrtd \
         /usr/share/fish/vendor_completions.d/emrtd.fish /usr/lib/systemd/user/emrtd-desk.service \
         /etc/emrtd/desk.env /usr/share/doc/emrtd/desk.md; do
  [ -s "$ROOT$f" ] || fail "$f missing or empty"
done
grep -q 'complete -F _emrtd' "$ROOT/usr/share/bash-completion/completions/emrtd" || fail "bash completion not for emrtd"
grep -q '^#compdef emrtd' "$ROOT/usr/share/zsh/vendor-completions/_emrtd" || fail "zsh completion not for emrtd"
grep -q '^complete -c emrtd' "$ROOT/usr/share/fish/vendor_completions.d/emrtd.fish" || fail "fish completion not for emrtd"
in_root dpkg-query -W -f='${Conffiles}\n' emrtd | grep -q '/etc/emrtd/desk.env' || fail "/etc/emrtd/desk.env is not a conffile"
grep -q '^ExecStart=/usr/bin/emrtd desk \$EMRTD_DESK_ARGS$' "$ROOT/usr/lib/systemd/user/emrtd-desk.service" || fail "unit ExecStart"

say "emrtd desk --emulator ref1.toml as an unprivileged user, one MRZ on stdin"
in_root useradd --create-home officer
mkdir -p "$ROOT/home/officer/fixtures"
cp -a pkd-fixtures/. "$ROOT/home/officer/fixtures/"
in_root chown -R officer:officer /home/officer/fixtures
as_officer sh -c 'emrtd -q pkd import /home/officer/fixtures/pki/*' > "$DIR/pkd-import.log" 2>&1 \
  || { cat "$DIR/pkd-import.log"; fail "emrtd pkd import"; }
# the MRZ of the profile, as a scanner types it: two lines, then stdin stays open
grep -A2 '^mrz = """' pkd-fixtures/booklets/ref1.toml | tail -2 > "$ROOT/home/officer/mrz.txt"
[ "$(wc -l < "$ROOT/home/officer/mrz.txt")" = 2 ] || fail "no MRZ in ref1.toml"
# stdin is a FIFO this script holds open, as a scanner's keyboard stays connected
mkfifo "$ROOT/home/officer/scanner"
chown --reference="$ROOT/home/officer" "$ROOT/home/officer/scanner"
# (chroot and env exec: $! is emrtd itself)
chroot --userspec=officer:officer "$ROOT" env -i PATH=/usr/bin:/bin HOME=/home/officer LANG=C.UTF-8 \
  emrtd desk --emulator /home/officer/fixtures/booklets/ref1.toml --listen 127.0.0.1:0 \
  --audit-log /home/officer/audit.jsonl < "$ROOT/home/officer/scanner" 2> "$DIR/desk.err" &
DESK_PID=$!
exec 3> "$ROOT/home/officer/scanner"
addr=""
for _ in $(seq 1 100); do
  addr=$(sed -n 's|.*page at http://\([^/]*\)/.*|\1|p' "$DIR/desk.err" | head -1)
  [ -n "$addr" ] && break
  sleep 0.2
done
[ -n "$addr" ] || { cat "$DIR/desk.err"; fail "emrtd desk did not start"; }
echo "   page at http://$addr/"
cat "$ROOT/home/officer/mrz.txt" >&3
state=""
for _ in $(seq 1 300); do
  state=$(curl -sf "http://$addr/state") || true
  [ "$(jq -r .state <<<"$state" 2>/dev/null)" = result ] && [ "$(jq -r .face_pending <<<"$state")" = false ] && break
  sleep 0.2
done
verdict=$(jq -r .verdict <<<"$state" 2>/dev/null || true)
echo "   GET /state: state=$(jq -r .state <<<"$state" 2>/dev/null) verdict=$verdict face=$(jq -r .face <<<"$state" 2>/dev/null)"
[ "$verdict" = VALID ] || { cat "$DIR/desk.err"; fail "expected VALID, got: $state"; }
face=$(jq -r .face <<<"$state")
curl -sf "http://$addr$face" -o "$DIR/face.png" || fail "the face $face was not served"
[ "$(head -c 8 "$DIR/face.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the face is not a PNG"
grep -q '"verdict":"VALID"' "$ROOT/home/officer/audit.jsonl" || fail "no VALID line in the audit log"
kill -TERM "$DESK_PID"
rc=0; wait "$DESK_PID" || rc=$?
DESK_PID=""
exec 3>&-
[ "$rc" = 0 ] || fail "emrtd desk exited with $rc on SIGTERM"
sed 's/^/   desk: /' "$DIR/desk.err"
say "PASSED: $DEB installs on a clean $SUITE and its desk gives VALID"
