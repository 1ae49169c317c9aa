#!/usr/bin/env python3
"""Seed fuzz/corpus/<target>/ from the repository's test vectors and fixtures.

    python3 fuzz/seed-corpus.py            # every target in fuzz/fuzz_targets/
    python3 fuzz/seed-corpus.py tlv mrz    # only these

Each target gets the files its parser reads (test-vectors/, pkd-fixtures/), named by
their SHA-1 like libFuzzer's own corpus entries, so re-running only adds what is new.
Corpus directories are git-ignored (libFuzzer adds to them while it runs).
"""
import glob
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MAX = 1 << 20  # libFuzzer's -max_len is smaller anyway; keep seeds reasonable


def files(*patterns):
    out = []
    for p in patterns:
        out.extend(sorted(glob.glob(os.path.join(ROOT, p), recursive=True)))
    return [f for f in out if os.path.isfile(f) and os.path.getsize(f) <= MAX]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def dg(n):
    return files(f"test-vectors/**/DG{n}_*.bin", f"test-vectors/**/*DG{n}.bin",
                 f"test-vectors/**/Datagroup{n}.bin", f"test-vectors/**/EF_DG{n}.bin")


def mrz_texts():
    d = json.load(open(os.path.join(ROOT, "test-vectors/mrz/mrz_samples.json")))
    out = []
    for key in ("valid_or_specimen", "invalid"):
        for s in d.get(key, []):
            m = s.get("mrz", "")
            n = {90: 30, 72: 36, 88: 44}.get(len(m))
            out.append("\n".join(m[i:i + n] for i in range(0, len(m), n)).encode() if n else m.encode())
    for p in files("pkd-fixtures/booklets/*.toml"):
        t = read(p).decode("utf-8", "replace")
        if 'mrz = """' in t:
            out.append(t.split('mrz = """', 1)[1].split('"""', 1)[0].strip().encode())
    return out


def chunk(data, raw=False):
    """A chunk of the reader_hostile_chip input."""
    n = min(len(data), 0x7FFF)
    return bytes([(0x80 if raw else 0) | (n >> 8), n & 0xFF]) + data[:n]


def hostile_sessions():
    """BAC sessions: EF.CardAccess absent, SELECT ok, BAC (honest), then the files."""
    out = []
    for d in ("jmrtd_bsi2008", "bsi_tr03105_5_refdata_zienit", "etsi_tr103200_prototype_via_pymrtd"):
        base = os.path.join(ROOT, "test-vectors/lds", d)
        com = files(f"test-vectors/lds/{d}/*COM*")
        sod = files(f"test-vectors/lds/{d}/*SOD*")
        dgs = sorted(files(f"test-vectors/lds/{d}/*1.bin", f"test-vectors/lds/{d}/*15.bin",
                           f"test-vectors/lds/{d}/*14.bin"))
        if not (com and sod and os.path.isdir(base)):
            continue
        for flags in (0, 1, 2):
            s = bytes([flags])
            s += chunk(b"\x6a\x82", raw=True)      # READ EF.CardAccess: absent
            s += chunk(b"\x90\x00")                # SELECT eMRTD application (plain)
            s += chunk(b"") + chunk(b"")           # GET CHALLENGE, MUTUAL AUTHENTICATE: honest
            for f in com + sod + dgs:
                s += chunk(read(f) + b"\x90\x00")  # under secure messaging
            out.append(s)
    # PACE offered: the fuzzer's GENERAL AUTHENTICATE answers
    for ca in files("test-vectors/lds/openpace_cardaccess_samples/ef_cardaccess_*.bin")[:3]:
        s = bytes([1]) + chunk(read(ca) + b"\x90\x00", raw=True) + chunk(b"\x90\x00", raw=True)
        s += chunk(bytes.fromhex("7C128010") + bytes(16) + b"\x90\x00", raw=True)
        out.append(s)
    return out


def sm_seeds(command):
    out = []
    cryptogram = bytes.fromhex("871101") + bytes(range(16))
    status = bytes.fromhex("99029000")
    le = bytes.fromhex("970100")
    for cipher in range(4):
        for mode in range(3):
            sel = bytes([cipher | (mode << 2)])
            if command:
                out.append(sel + bytes.fromhex("0CB00000") + le)
                out.append(sel + bytes.fromhex("0CB00000") + cryptogram + le)
                out.append(sel + bytes.fromhex("00A4020C020101"))
                out.append(sel + bytes.fromhex("00B0000000"))
            else:
                out.append(sel + cryptogram + status)
                out.append(sel + status)
                out.append(sel + bytes(range(20)) + b"\x90\x00")
                out.append(sel + b"\x62\x82")
    return out


def apdus():
    return [bytes.fromhex(h) for h in (
        "00A4040C07A0000002471001", "00B0810000", "00B08100000000", "0CB0000000",
        "00B1000004540200800000", "0022C1A40F800A04007F00070202040202830101",
        "10860000047C0280000000", "0088000008" + "11" * 8 + "00", "0084000008",
    ) if len(h) % 2 == 0]


def seeds(target):
    if target == "tlv":
        return files("test-vectors/lds/**/*.bin", "pkd-fixtures/pki/*.cer", "pkd-fixtures/pki/*.crl")
    if target == "mrz":
        return mrz_texts()
    if target == "apdu":
        return apdus()
    if target == "security_infos":
        return files("test-vectors/**/*ardAccess*", "test-vectors/**/*ardaccess*",
                     "test-vectors/**/*ardsecurity*", "test-vectors/**/*ardSecurity*") + dg(14)
    if target == "sm_response":
        return sm_seeds(False)
    if target == "sm_command":
        return sm_seeds(True)
    if target == "reader_hostile_chip":
        return hostile_sessions()
    if target == "lds_com":
        return files("test-vectors/**/*COM*.bin")
    if target in ("lds_sod", "pki_cms"):
        return files("test-vectors/**/*SOD*.bin", "test-vectors/**/*ardsecurity*",
                     "pkd-fixtures/pki/*.ml", "pkd-fixtures/pki/*.dvl")
    if target.startswith("lds_dg") and target[6:].isdigit():
        return dg(int(target[6:]))
    if target in ("lds_biometric", "lds_image", "lds_displayed"):
        return dg(2) + dg(3) + dg(4) + dg(5) + dg(7) + files(
            "test-vectors/generated/*.j*", "test-vectors/lds/iso39794_dg2_samples/*", "test-vectors/wsq/*.wsq")
    if target == "lds_wsq":
        return files("test-vectors/wsq/*.wsq")
    if target == "lds_detect":
        return files("test-vectors/lds/**/*.bin", "pkd-fixtures/pki/*")
    if target == "lds_dir":
        return files("test-vectors/**/*EF_DIR*")
    if target == "lds_atr_info":
        return files("test-vectors/**/*ATR*")
    if target == "pki_cert":
        return files("pkd-fixtures/pki/*.cer", "pkd-fixtures/pki/*.pem", "pkd-fixtures/keys/*.cer",
                     "test-vectors/pki/csca_certs/*", "test-vectors/lds/**/*.cer")
    if target == "pki_crl":
        return files("pkd-fixtures/pki/*.crl")
    if target == "pki_ldif":
        return files("pkd-fixtures/pki/*.ldif")
    if target == "pki_lists":
        return files("pkd-fixtures/pki/*.ml", "pkd-fixtures/pki/*.dvl")
    return []


def main():
    targets = sys.argv[1:] or sorted(
        os.path.splitext(f)[0] for f in os.listdir(os.path.join(HERE, "fuzz_targets")) if f.endswith(".rs"))
    for t in targets:
        d = os.path.join(HERE, "corpus", t)
        os.makedirs(d, exist_ok=True)
        n = 0
        # earlier findings (fuzz/regressions/<target>/) stay in every corpus
        for s in seeds(t) + files(f"fuzz/regressions/{t}/*"):
            data = read(s) if isinstance(s, str) else s
            name = hashlib.sha1(data).hexdigest()
            p = os.path.join(d, name)
            if not os.path.exists(p):
                with open(p, "wb") as f:
                    f.write(data)
                n += 1
        print(f"{t}: {n} new seed(s), {len(os.listdir(d))} in corpus/{t}")


if __name__ == "__main__":
    main()
