#!/usr/bin/env bash
# Passive Authentication of emrtd dumps the way a lab scripts it today with the
# openssl command line: for each dump, `openssl cms -verify` of EF.SOD against the
# CSCA certificates and CRLs (chain, CRL, signature), `openssl asn1parse` of the LDS
# security object, and `openssl dgst` of the data groups compared with its hashes.
# The benchmark (benches/bench.rs) times it on the same dumps as `emrtd verify --dump`.
#
#   scripts/bench/openssl-verify.sh PKI_DIR LIST_FILE     (one dump directory per line)
#
# PKI_DIR holds the trust anchors as emrtd imports them (pkd-fixtures/pki): every
# self-signed *.cer/*.pem and every *.crl goes into one PEM CAfile (OpenSSL reads
# CRLs from it too). Prints "PASS DIR" or "FAIL DIR: reason" per dump; JOBS parallel
# workers (default: all cores).
set -euo pipefail
pki=${1:?PKI_DIR}
list=${2:?LIST_FILE}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cafile="$work/trust.pem"
: > "$cafile"
for f in "$pki"/*.cer "$pki"/*.pem; do
  [ -e "$f" ] || continue
  if grep -q -- "-----BEGIN" "$f" 2>/dev/null; then form=PEM; else form=DER; fi
  openssl x509 -inform "$form" -in "$f" -outform PEM >> "$cafile" 2>/dev/null || true
done
for f in "$pki"/*.crl; do
  [ -e "$f" ] || continue
  if grep -q -- "-----BEGIN" "$f" 2>/dev/null; then form=PEM; else form=DER; fi
  openssl crl -inform "$form" -in "$f" -outform PEM >> "$cafile" 2>/dev/null || true
done
export CAFILE="$cafile"
xargs -P "${JOBS:-$(nproc)}" -n 1 bash "$here/openssl-verify-one.sh" < "$list"
