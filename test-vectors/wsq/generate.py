#!/usr/bin/env python3
"""WSQ conformance vectors for src/lds/wsq.rs, made with an independent decoder.

The encoder and decoder are NBIS (NIST Biometric Image Software) as packaged on PyPI
by `wsq` 0.9 (its C extension `_wsq`, `compress`/`decompress`); PNG writing by
Pillow. Nothing here uses emrtd.

  pip install wsq==0.9        # brings Pillow
  # the wheel's wrapper (csrc/_wsq.c) overrides the bit rate with 0.75; for the
  # 2.25 files build the same sdist with that one assignment commented out:
  pip download wsq==0.9 --no-deps --no-binary :all: -d /tmp/w && cd /tmp/w
  tar xzf wsq-0.9.tar.gz && cd wsq-0.9
  sed -i 's|^    ratio = 0.75;|    // ratio = 0.75;|' csrc/_wsq.c
  python3 setup.py build_ext --inplace
  WSQ_MODULE_DIR=/tmp/w/wsq-0.9 python3 test-vectors/wsq/generate.py
The script checks that each file's NIST_COM comment names the bit rate asked for.

Writes into this directory:
  synth_<name>_<rate>.wsq   grey pictures encoded by NBIS at 0.75 and 2.25 bits/pixel
  synth_<name>_<rate>.png   the same files decoded by NBIS (8-bit grey PNG, lossless)
  bsi2008_finger<i>.wsq     the WSQ images of the ISO/IEC 19794-4 records in
                            ../lds/jmrtd_bsi2008/Datagroup3.bin, cut out byte for byte
  bsi2008_finger<i>.png     those decoded by NBIS
The pictures are deterministic (a fixed-seed generator), so a rerun gives the same files.
"""
import os
import sys

import numpy as np

if os.environ.get("WSQ_MODULE_DIR"):
    sys.path.insert(0, os.environ["WSQ_MODULE_DIR"])
import _wsq  # noqa: E402
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
RATES = (0.75, 2.25)


def pictures():
    rng = np.random.default_rng(20081)
    yy, xx = np.mgrid[0:411, 0:377]
    # a fingerprint-like pattern: curved ridges about a core, with a little noise
    r = np.hypot(xx - 180.0, (yy - 230.0) * 1.3)
    theta = np.arctan2(yy - 230.0, xx - 180.0)
    ridges = 128 + 90 * np.sin(r / 2.6 + 0.8 * np.sin(theta * 2))
    ridges += rng.normal(0, 12, ridges.shape)
    mask = ((xx - 188) / 170.0) ** 2 + ((yy - 205) / 200.0) ** 2 > 1
    ridges[mask] = 235
    yield "ridges", np.clip(ridges, 0, 255).astype(np.uint8)
    yg, xg = np.mgrid[0:97, 0:131]
    yield "gradient", ((xg * 2 + yg) * 255 / (130 * 2 + 96)).astype(np.uint8)
    yield "noise", rng.integers(0, 256, size=(64, 80), dtype=np.uint8)
    yo, xo = np.mgrid[0:53, 0:67]
    yield "checker", np.where(((xo // 3) + (yo // 5)) % 2 == 0, 30, 220).astype(np.uint8)


def png(path, pixels, width, height):
    Image.frombytes("L", (width, height), pixels).save(path)


def bsi_fingers():
    dg3 = open(os.path.join(HERE, "..", "lds", "jmrtd_bsi2008", "Datagroup3.bin"), "rb").read()
    at = 0
    while True:
        at = dg3.find(b"FIR\x00010\x00", at)
        if at < 0:
            return
        count = dg3[at + 18]
        view = at + 32
        for _ in range(count):
            length = int.from_bytes(dg3[view:view + 4], "big")
            yield dg3[view + 14:view + length]
            view += length
        at = view


def main():
    made = []
    for name, a in pictures():
        h, w = a.shape
        for rate in RATES:
            stem = f"synth_{name}_{rate:.2f}".replace(".", "")
            data = _wsq.compress(a.tobytes(), h, w, rate)
            if f"WSQ_BITRATE {rate:.6f}".encode() not in data:
                sys.exit(f"the _wsq module ignored bit rate {rate}: see the docstring")
            open(os.path.join(HERE, stem + ".wsq"), "wb").write(data)
            pixels, dw, dh, _ppi = _wsq.decompress(data)
            png(os.path.join(HERE, stem + ".png"), pixels, dw, dh)
            made.append((stem, dw, dh, len(data)))
    for i, data in enumerate(bsi_fingers(), 1):
        stem = f"bsi2008_finger{i}"
        open(os.path.join(HERE, stem + ".wsq"), "wb").write(data)
        pixels, dw, dh, _ppi = _wsq.decompress(data)
        png(os.path.join(HERE, stem + ".png"), pixels, dw, dh)
        made.append((stem, dw, dh, len(data)))
    for stem, w, h, n in made:
        print(f"{stem}: {w}x{h}, {n} bytes of WSQ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
