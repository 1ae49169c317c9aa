#!/usr/bin/python3
"""BAC and 3DES secure messaging against a PC/SC card, in Python.

An implementation written from ICAO Doc 9303 Part 11 (section 4.3 Basic Access
Control, 9.7.1 key derivation, 9.7.2 authentication and key establishment, 9.8
secure messaging, Appendix D worked example) and ISO/IEC 9797-1 (MAC algorithm 3,
padding method 2), independently of emrtd's Rust code. It cross-checks the chip
side of the emulator (`emrtd emulate`) through pcscd: if both ends shared a bug,
the Rust round trips would not notice; this script would.

Needs Debian's python3-pyscard and python3-cryptography (run it with /usr/bin/python3).

  pyscard_bac.py --selftest test-vectors/protocol/bac_sm_doc9303_appendix_d.json
  pyscard_bac.py --reader "Virtual PCD 00 00" --mrz-file MRZ.txt [--files com,dg1]
                 [--check-mac-refusal]

Prints one JSON document on stdout: the files read (hex) and the checks made.
Exit status 0 on success, 1 when a check fails, 2 on usage or card errors.
"""

import argparse
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

EMRTD_AID = bytes.fromhex("A0000002471001")  # Doc 9303 Part 10, eMRTD application
FILE_IDS = {  # Doc 9303 Part 10 section 4.6: file identifiers
    "com": 0x011E,
    "sod": 0x011D,
    **{"dg%d" % n: 0x0100 + n for n in range(1, 17)},
}
CHUNK = 0xDF  # bytes per READ BINARY: fits short APDUs under SM on most chips


class CardError(Exception):
    """The card answered something unexpected."""


class CheckFailed(Exception):
    """A cryptographic check failed."""


# --- primitives -----------------------------------------------------------------------------


def _cipher(key, mode):
    # TripleDES with an 8-byte key is single DES (K1 = K2 = K3); 16 bytes is 2-key 3DES
    return Cipher(algorithms.TripleDES(key), mode)


def des_ecb_encrypt(key8, block):
    enc = _cipher(key8, modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def des_ecb_decrypt(key8, block):
    dec = _cipher(key8, modes.ECB()).decryptor()
    return dec.update(block) + dec.finalize()


def tdes_cbc_encrypt(key16, data):
    enc = _cipher(key16, modes.CBC(bytes(8))).encryptor()
    return enc.update(data) + enc.finalize()


def tdes_cbc_decrypt(key16, data):
    dec = _cipher(key16, modes.CBC(bytes(8))).decryptor()
    return dec.update(data) + dec.finalize()


def pad(data):
    """ISO/IEC 9797-1 padding method 2: 0x80, then zeros to a multiple of 8."""
    data = data + b"\x80"
    return data + bytes((-len(data)) % 8)


def unpad(data):
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise CheckFailed("bad padding in a decrypted cryptogram")
    return stripped[:-1]


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def retail_mac(key16, padded):
    """ISO/IEC 9797-1 MAC algorithm 3 with DES: CBC with Ka, last block D(Kb) then E(Ka)."""
    ka, kb = key16[:8], key16[8:16]
    h = bytes(8)
    for i in range(0, len(padded), 8):
        h = des_ecb_encrypt(ka, xor(h, padded[i : i + 8]))
    return des_ecb_encrypt(ka, des_ecb_decrypt(kb, h))


def adjust_parity(key):
    out = bytearray()
    for b in key:
        ones = bin(b >> 1).count("1")
        out.append((b & 0xFE) | (0 if ones % 2 else 1))
    return bytes(out)


def kdf(seed16, counter):
    """Doc 9303 Part 11 section 9.7.1: SHA-1(K || c), first 16 bytes, parity adjusted."""
    return adjust_parity(hashlib.sha1(seed16 + counter.to_bytes(4, "big")).digest()[:16])


# --- MRZ ------------------------------------------------------------------------------------


def check_digit(text):
    """Doc 9303 Part 3 section 4.9: weights 7, 3, 1; '<' = 0, A = 10 ... Z = 35."""
    total = 0
    for i, c in enumerate(text):
        if c.isdigit():
            v = int(c)
        elif c.isalpha():
            v = ord(c.upper()) - ord("A") + 10
        else:
            v = 0
        total += v * (7, 3, 1)[i % 3]
    return str(total % 10)


def mrz_information(mrz_text):
    """Document number, birth and expiry dates with their check digits (TD3 or TD1)."""
    lines = [l.strip() for l in mrz_text.replace("\\n", "\n").splitlines() if l.strip()]
    if len(lines) == 2 and len(lines[1]) == 44:  # TD3
        l2 = lines[1]
        doc, doc_cd = l2[0:9], l2[9]
        birth, birth_cd = l2[13:19], l2[19]
        expiry, expiry_cd = l2[21:27], l2[27]
    elif len(lines) == 3 and len(lines[0]) == 30:  # TD1 (9-character document numbers)
        doc, doc_cd = lines[0][5:14], lines[0][14]
        birth, birth_cd = lines[1][0:6], lines[1][6]
        expiry, expiry_cd = lines[1][8:14], lines[1][14]
        if doc_cd == "<":
            raise SystemExit("long TD1 document numbers are not supported by this script")
    else:
        raise SystemExit("the MRZ must be TD3 (2 x 44) or TD1 (3 x 30)")
    for field, cd in ((doc, doc_cd), (birth, birth_cd), (expiry, expiry_cd)):
        if check_digit(field) != cd:
            raise SystemExit("an MRZ check digit does not match")
    return doc + doc_cd + birth + birth_cd + expiry + expiry_cd


def basic_keys(mrz_info):
    kseed = hashlib.sha1(mrz_info.encode("ascii")).digest()[:16]
    return kseed, kdf(kseed, 1), kdf(kseed, 2)


# --- BAC (Doc 9303 Part 11 section 9.7.2) ---------------------------------------------------


def bac_command_data(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd):
    s = rnd_ifd + rnd_ic + k_ifd
    e_ifd = tdes_cbc_encrypt(k_enc, s)
    m_ifd = retail_mac(k_mac, pad(e_ifd))
    return e_ifd + m_ifd


def bac_session_keys(k_enc, k_mac, resp, rnd_ic, rnd_ifd, k_ifd):
    if len(resp) != 40:
        raise CheckFailed("MUTUAL AUTHENTICATE response is %d bytes, not 40" % len(resp))
    e_ic, m_ic = resp[:32], resp[32:]
    if retail_mac(k_mac, pad(e_ic)) != m_ic:
        raise CheckFailed("the chip's MAC over its cryptogram does not verify")
    r = tdes_cbc_decrypt(k_enc, e_ic)
    if r[0:8] != rnd_ic or r[8:16] != rnd_ifd:
        raise CheckFailed("the chip did not return RND.IC and RND.IFD")
    k_ic = r[16:32]
    seed = xor(k_ifd, k_ic)
    ssc = rnd_ic[4:8] + rnd_ifd[4:8]
    return {"k_ic": k_ic, "ks_enc": kdf(seed, 1), "ks_mac": kdf(seed, 2), "ssc": int.from_bytes(ssc, "big")}


# --- secure messaging (Doc 9303 Part 11 section 9.8) -----------------------------------------


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82]) + n.to_bytes(2, "big")


def data_objects(data):
    """Top-level BER-TLV objects with one-byte tags, in order: (tag, value, raw bytes)."""
    i = 0
    while i < len(data):
        start = i
        if i + 2 > len(data):
            raise CheckFailed("truncated data object")
        tag, n = data[i], data[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            if k == 0 or k > 3 or i + k > len(data):
                raise CheckFailed("bad length in a data object")
            n = int.from_bytes(data[i : i + k], "big")
            i += k
        if i + n > len(data):
            raise CheckFailed("data object runs past the response")
        i += n
        yield tag, data[i - n : i], data[start:i]


class SecureMessaging:
    def __init__(self, ks_enc, ks_mac, ssc):
        self.ks_enc, self.ks_mac, self.ssc = ks_enc, ks_mac, ssc

    def _ssc_bytes(self):
        return (self.ssc % (1 << 64)).to_bytes(8, "big")

    def protect(self, cla, ins, p1, p2, data=b"", le=None, tamper=False):
        header = bytes([cla | 0x0C, ins, p1, p2])
        do87 = b""
        if data:
            body = b"\x01" + tdes_cbc_encrypt(self.ks_enc, pad(data))
            do87 = b"\x87" + ber_len(len(body)) + body
        do97 = b""
        if le is not None:
            do97 = b"\x97\x01" + bytes([le & 0xFF])
        self.ssc += 1
        n = pad(self._ssc_bytes() + pad(header) + do87 + do97)
        cc = retail_mac(self.ks_mac, n)
        if tamper:
            cc = cc[:-1] + bytes([cc[-1] ^ 0x01])
        body = do87 + do97 + b"\x8E\x08" + cc
        return header + bytes([len(body)]) + body + b"\x00"

    def unprotect(self, resp):
        self.ssc += 1
        if len(resp) < 2:
            raise CheckFailed("response without status word")
        data, sw = resp[:-2], resp[-2:]
        if not data:
            raise CardError("the chip ended secure messaging with SW %s" % sw.hex().upper())
        # the MAC covers every data object before DO'8E', as received
        covered = b""
        do87 = do99 = mac = None
        for tag, value, raw in data_objects(data):
            if tag == 0x8E:
                mac = value
                break
            covered += raw
            if tag == 0x87:
                do87 = value
            elif tag == 0x99:
                do99 = value
        if mac is None or do99 is None:
            raise CheckFailed("DO'8E' or DO'99' missing from a protected response")
        if retail_mac(self.ks_mac, pad(self._ssc_bytes() + covered)) != mac:
            raise CheckFailed("response MAC does not verify (SSC %016X)" % self.ssc)
        if do99 != sw:
            raise CheckFailed("DO'99' %s differs from the status word %s" % (do99.hex(), sw.hex()))
        plain = b""
        if do87 is not None:
            if not do87 or do87[0] != 0x01:
                raise CheckFailed("DO'87' without padding-content indicator 01")
            plain = unpad(tdes_cbc_decrypt(self.ks_enc, do87[1:]))
        return plain, sw


# --- self-test against Appendix D -----------------------------------------------------------


def selftest(path):
    v = json.load(open(path))
    i, e, d4 = v["inputs"], v["expected"], v["secure_messaging_d4"]
    checks = []

    def eq(name, got, want):
        if got.hex().upper() != want.upper():
            raise CheckFailed("%s: got %s, want %s" % (name, got.hex().upper(), want))
        checks.append(name)

    kseed, k_enc, k_mac = basic_keys(i["mrz_information"])
    eq("kseed", kseed, e["kseed"])
    eq("kenc", k_enc, e["kenc"])
    eq("kmac", k_mac, e["kmac"])
    rnd_ic, rnd_ifd, k_ifd = (bytes.fromhex(i[k]) for k in ("rnd_ic", "rnd_ifd", "k_ifd"))
    eq("ext_auth_cmd_data", bac_command_data(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd), e["ext_auth_cmd_data"])
    keys = bac_session_keys(k_enc, k_mac, bytes.fromhex(e["ext_auth_resp_data"]), rnd_ic, rnd_ifd, k_ifd)
    eq("k_ic", keys["k_ic"], e["k_ic"])
    eq("ks_enc", keys["ks_enc"], e["ks_enc"])
    eq("ks_mac", keys["ks_mac"], e["ks_mac"])
    eq("ssc", keys["ssc"].to_bytes(8, "big"), e["ssc"])
    sm = SecureMessaging(keys["ks_enc"], keys["ks_mac"], keys["ssc"])
    com = b""
    for step in d4["steps"]:
        u = bytes.fromhex(step["unprotected_capdu"])
        data = u[5 : 5 + u[4]] if len(u) > 5 else b""
        le = u[4] if len(u) == 5 else None
        eq("protect " + step["step"], sm.protect(u[0], u[1], u[2], u[3], data, le), step["protected_capdu"])
        plain, sw = sm.unprotect(bytes.fromhex(step["protected_rapdu"]))
        eq("unprotect " + step["step"], plain, step["unprotected_rapdu_data"])
        com += plain
    eq("EF.COM", com, d4["expected_ef_com"])
    # a tampered response must be refused
    sm = SecureMessaging(keys["ks_enc"], keys["ks_mac"], int(d4["steps"][1]["ssc_for_command"], 16))
    bad = bytearray(bytes.fromhex(d4["steps"][1]["protected_rapdu"]))
    bad[-3] ^= 0x01
    try:
        sm.unprotect(bytes(bad))
    except CheckFailed:
        checks.append("tampered response refused")
    else:
        raise CheckFailed("a tampered response MAC was accepted")
    return {"selftest": "ok", "checks": checks}


# --- against a card -------------------------------------------------------------------------


class Card:
    def __init__(self, wanted):
        from smartcard.System import readers
        from smartcard.Exceptions import NoCardException

        found = readers()
        names = [str(r) for r in found]
        chosen = None
        if wanted.isdigit() and int(wanted) < len(found):
            chosen = found[int(wanted)]
        else:
            for r in found:
                if wanted.lower() in str(r).lower():
                    chosen = r
                    break
        if chosen is None:
            raise CardError("no reader matching %r (readers: %s)" % (wanted, names))
        self.name = str(chosen)
        self.conn = chosen.createConnection()
        try:
            self.conn.connect()
        except NoCardException as e:
            raise CardError("no card in %s: %s" % (self.name, e))
        self.atr = bytes(self.conn.getATR())

    def transmit(self, apdu):
        data, sw1, sw2 = self.conn.transmit(list(apdu))
        return bytes(data) + bytes([sw1, sw2])

    def close(self):
        self.conn.disconnect()


def plain(card, apdu_hex, what):
    r = card.transmit(bytes.fromhex(apdu_hex))
    if r[-2:] != b"\x90\x00":
        raise CardError("%s answered %s" % (what, r[-2:].hex().upper()))
    return r[:-2]


def read_file(card, sm, fid):
    r = sm.unprotect(card.transmit(sm.protect(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))))
    if r[1] != b"\x90\x00":
        return None, r[1].hex().upper()
    head, sw = sm.unprotect(card.transmit(sm.protect(0x00, 0xB0, 0x00, 0x00, le=4)))
    if sw != b"\x90\x00" or len(head) < 2:
        raise CardError("READ BINARY of the file header answered %s" % sw.hex().upper())
    # total length from the outer tag's BER length (one-byte tags: 60, 61, 6x, 77)
    n = head[1]
    if n < 0x80:
        total = 2 + n
    else:
        k = n & 0x7F
        total = 2 + k + int.from_bytes(head[2 : 2 + k], "big")
    content = head
    while len(content) < total:
        offset = len(content)
        want = min(CHUNK, total - offset)
        part, sw = sm.unprotect(
            card.transmit(sm.protect(0x00, 0xB0, offset >> 8, offset & 0xFF, le=want))
        )
        if sw != b"\x90\x00" or not part:
            raise CardError("READ BINARY at %d answered %s" % (offset, sw.hex().upper()))
        content += part
    return content[:total], "9000"


def run_card(args):
    mrz_text = open(args.mrz_file).read() if args.mrz_file else os.environ.get("EMRTD_MRZ", "")
    if not mrz_text:
        raise SystemExit("give --mrz-file FILE or set $EMRTD_MRZ")
    kseed, k_enc, k_mac = basic_keys(mrz_information(mrz_text))
    card = Card(args.reader)
    out = {"reader": card.name, "atr": card.atr.hex().upper(), "files": {}, "absent": {}, "checks": []}
    plain(card, "00A4040C07" + EMRTD_AID.hex(), "SELECT eMRTD application")
    rnd_ic = plain(card, "0084000008", "GET CHALLENGE")
    if len(rnd_ic) != 8:
        raise CardError("GET CHALLENGE returned %d bytes" % len(rnd_ic))
    rnd_ifd, k_ifd = os.urandom(8), os.urandom(16)
    cmd = bytes.fromhex("0082000028") + bac_command_data(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd) + b"\x28"
    r = card.transmit(cmd)
    if r[-2:] != b"\x90\x00":
        raise CardError("MUTUAL AUTHENTICATE answered %s (wrong MRZ?)" % r[-2:].hex().upper())
    keys = bac_session_keys(k_enc, k_mac, r[:-2], rnd_ic, rnd_ifd, k_ifd)
    out["checks"].append("BAC: chip cryptogram and MAC verified")
    sm = SecureMessaging(keys["ks_enc"], keys["ks_mac"], keys["ssc"])
    for name in args.files.split(","):
        fid = FILE_IDS[name.strip().lower()]
        content, sw = read_file(card, sm, fid)
        if content is None:
            out["absent"][name] = sw
        else:
            out["files"][name] = content.hex().upper()
    out["checks"].append("SM: every response MAC verified")
    if args.check_mac_refusal:
        # a command with a wrong MAC must be refused with 6988 and end the session
        r = card.transmit(sm.protect(0x00, 0xB0, 0x00, 0x00, le=4, tamper=True))
        if r != b"\x69\x88":
            raise CheckFailed("a command with a wrong MAC got %s, not 6988" % r.hex().upper())
        sm.ssc += 1
        r = card.transmit(sm.protect(0x00, 0xB0, 0x00, 0x00, le=4))
        if r[-2:] == b"\x90\x00":
            raise CheckFailed("secure messaging continued after a wrong MAC")
        out["checks"].append("SM: wrong command MAC refused with 6988, session ended (then %s)" % r.hex().upper())
    card.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selftest", metavar="VECTORS_JSON", help="check the crypto against Doc 9303 Appendix D")
    ap.add_argument("--reader", help="PC/SC reader: name substring or index")
    ap.add_argument("--mrz-file", help="file holding the MRZ lines (or set $EMRTD_MRZ)")
    ap.add_argument("--files", default="com", help="comma-separated: com,sod,dg1..dg16 (default com)")
    ap.add_argument("--check-mac-refusal", action="store_true", help="also send one command with a wrong MAC")
    args = ap.parse_args()
    try:
        if args.selftest:
            result = selftest(args.selftest)
        elif args.reader is not None:
            result = run_card(args)
        else:
            ap.error("give --selftest or --reader")
    except CheckFailed as e:
        print("pyscard_bac: check failed: %s" % e, file=sys.stderr)
        return 1
    except CardError as e:
        print("pyscard_bac: card error: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
