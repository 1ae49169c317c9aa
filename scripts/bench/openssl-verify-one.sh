#!/usr/bin/env bash
# One dump for openssl-verify.sh (CAFILE in the environment): SOD signature and chain
# with CRL check, then every data-group hash. Prints PASS/FAIL and always exits 0.
set -u
d=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL $d: $*"; exit 0; }
sod="$d/EF.SOD.bin"
[ -f "$sod" ] || fail "no EF.SOD.bin"
# EF.SOD is ContentInfo wrapped in [APPLICATION 23] (tag 77): strip that header
b=$(od -An -tu1 -j1 -N1 "$sod" | tr -d ' ')
if [ "$b" -lt 128 ]; then hdr=2; else hdr=$((2 + b - 128)); fi
tail -c +$((hdr + 1)) "$sod" > "$tmp/sod.p7"
openssl cms -verify -inform DER -in "$tmp/sod.p7" -CAfile "$CAFILE" -crl_check -purpose any \
  -out "$tmp/lds.der" 2> "$tmp/err" > /dev/null || fail "cms: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
# LDSSecurityObject: version, hashAlgorithm, SEQUENCE OF { dataGroupNumber, hash }
openssl asn1parse -inform DER -in "$tmp/lds.der" > "$tmp/asn1" || fail "asn1parse"
alg=$(awk -F: '/d=2 .*OBJECT/ {gsub(/ /, "", $NF); print $NF; exit}' "$tmp/asn1")
awk -F: '/d=3 .*INTEGER/ {n=$NF; gsub(/ /, "", n)} /d=3 .*OCTET STRING/ {print n, $NF}' "$tmp/asn1" > "$tmp/hashes"
files=()
while read -r n h; do
  files+=("$d/DG$((16#$n)).bin")
done < "$tmp/hashes"
[ "${#files[@]}" -gt 0 ] || fail "no data group hashes"
openssl dgst "-$alg" -r "${files[@]}" > "$tmp/dgst" 2>/dev/null || fail "dgst (missing data group?)"
i=0
while read -r n h; do
  i=$((i + 1))
  got=$(sed -n "${i}p" "$tmp/dgst" | cut -d' ' -f1)
  [ "${got^^}" = "${h^^}" ] || fail "DG$((16#$n)) hash mismatch"
done < "$tmp/hashes"
echo "PASS $d"
