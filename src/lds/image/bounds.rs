//! What a decoder will allocate, read from the headers before it runs.
//!
//! A JPEG 2000 decoder builds its tiles, precincts and code-blocks from the main
//! header (ISO/IEC 15444-1 A.5.1 SIZ, A.6.1 COD, A.6.2 COC) before it reads a bit of
//! image data, so a header of a few hundred bytes can ask for gigabytes: 1×1 tiles
//! (16.7 million tiles for a 4096² image), or 4×4 code-blocks with 32 quality layers
//! (33 million code-block layers). The pixel bounds of [`super::MAX_PIXELS`] pass
//! such an image. This module reads those headers, the main header and every
//! tile-part header (a tile-part's COD/COC overrides the main header's), takes the
//! worst coding style found, and counts what the decoder will build. A JPEG's frame
//! header (ISO/IEC 10918-1 B.2.2) gives its components and sampling factors.
//!
//! The counts are upper bounds (a code-block cut by a tile edge counts twice), so a
//! real image passes with a wide margin: a 16,384² three-component image with
//! 64×64 code-blocks, five levels and eight layers needs about 270,000 code-blocks
//! and 2.2 million code-block layers.
//!
//! Those bounds cap memory, not time. A decoder transforms every sample the SIZ marker
//! declares whether or not any coded data follows, so 96 bytes declaring a 4096²
//! image cost as much CPU as a real 4096² image (0.6 s in the binary, 14 s under the
//! fuzzer's instrumentation). The JPEG 2000 check therefore also estimates the
//! decoding work from SIZ and COD/COC (the units are about one sample operation; see
//! `decode_work`) and refuses an image whose work is out of proportion to its size:
//! at most [`FREE_DECODE_WORK`] plus [`DECODE_WORK_PER_BYTE`] per byte of the image.
//! Every real image at hand is far inside (a 413×531 RGB face with five levels is
//! 1.5 M units and passes on the free allowance alone; the most compressed real
//! faces need under 140 units per byte); declaring a 4096² grey image takes about
//! 120 KB. Padding a file raises its allowance, so this bounds how much work each
//! byte read buys, not the work itself: that stays capped by [`super::MAX_PIXELS`]
//! and the decoder process's limits ([`super::sandbox`]).

use super::{ImageError, ImageFormat, be16, be32, find_box, jpeg_frame_at};

/// Most tiles (ISO/IEC 15444-1 allows 65,535; a face is one tile, a 16,384² image
/// cut in 256² tiles is 4,096).
pub const MAX_TILES: u64 = 4_096;
/// Most components (grey, grey + alpha, RGB, RGBA or CMYK).
pub const MAX_COMPONENTS: u64 = 4;
/// Most wavelet decomposition levels (2^15 is twice [`super::MAX_DIMENSION`]).
pub const MAX_DECOMPOSITION_LEVELS: u64 = 15;
/// Most quality layers.
pub const MAX_LAYERS: u64 = 32;
/// Most code-blocks over all tiles, components, resolutions and sub-bands.
pub const MAX_CODE_BLOCKS: u64 = 1 << 20;
/// Most code-blocks times quality layers (the decoder keeps a record per pair).
pub const MAX_CODE_BLOCK_LAYERS: u64 = 1 << 22;
/// Most precincts over all tiles, components, resolutions and sub-bands.
pub const MAX_PRECINCTS: u64 = 1 << 20;
/// Most scans of a progressive JPEG (each scan is a pass over every coefficient).
pub const MAX_JPEG_SCANS: u64 = 1_000;
/// JPEG 2000 decoding work (units of `decode_work`) allowed whatever the image's size:
/// about 0.15 s in the binary, a 1.2 Mpx RGB or 3.6 Mpx grey image with five levels.
pub const FREE_DECODE_WORK: u64 = 1 << 23;
/// JPEG 2000 decoding work allowed per byte of the image beyond [`FREE_DECODE_WORK`]:
/// about 110 samples per byte at five levels (0.07 bit per sample), against under 60
/// for the most compressed real faces at hand.
pub const DECODE_WORK_PER_BYTE: u64 = 256;
/// Work units per code-block layer (measured: a code-block layer costs the decoder
/// about as much as four sample operations).
const CODE_BLOCK_LAYER_WORK: u64 = 4;

fn over(format: ImageFormat, what: &'static str, count: u64, limit: u64) -> Result<(), ImageError> {
    if count > limit {
        Err(ImageError::OverBudget {
            format,
            what,
            count,
            limit,
        })
    } else {
        Ok(())
    }
}

/// Refuse an image whose headers ask the decoder for more than the limits of this
/// module, before any decoder runs. PNG and WSQ pass (the PNG decoder is bounded by
/// its own byte limit, the WSQ decoder of `lds::wsq` by the pixel limits).
pub fn check(bytes: &[u8], format: ImageFormat) -> Result<(), ImageError> {
    let size = bytes.len() as u64;
    match format {
        ImageFormat::Jpeg => check_jpeg(bytes),
        ImageFormat::J2k => check_codestream(bytes, size, format),
        ImageFormat::Jp2 => {
            let codestream = find_box(bytes, *b"jp2c").ok_or(ImageError::Header { format })?;
            check_codestream(codestream, size, format)
        }
        ImageFormat::Png | ImageFormat::Wsq => Ok(()),
    }
}

/// JPEG: the first frame header's components and sampling factors, and the number of
/// scans (SOS markers: entropy-coded data never holds `FF DA`, ISO/IEC 10918-1 B.1.1.5).
fn check_jpeg(b: &[u8]) -> Result<(), ImageError> {
    let format = ImageFormat::Jpeg;
    let header = || ImageError::Header { format };
    let sof = jpeg_frame_header(b).ok_or_else(header)?;
    // FF Cn, Lf(2), P, Y(2), X(2), Nf, then Ci Hi|Vi Tqi per component
    let nf = *sof.get(9).ok_or_else(header)?;
    over(format, "components", u64::from(nf), MAX_COMPONENTS)?;
    if nf == 0 {
        return Err(header());
    }
    for i in 0..usize::from(nf) {
        let sampling = *sof.get(10 + 3 * i + 1).ok_or_else(header)?;
        let (h, v) = (sampling >> 4, sampling & 0x0F);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return Err(header());
        }
    }
    let scans = b.windows(2).filter(|w| *w == [0xFF, 0xDA]).count() as u64;
    over(format, "scans", scans, MAX_JPEG_SCANS)
}

/// The frame header segment (from its marker) of the first SOFn.
fn jpeg_frame_header(b: &[u8]) -> Option<&[u8]> {
    let pos = jpeg_frame_at(b)?;
    let len = usize::from(be16(b, pos + 2)?);
    b.get(pos..pos.checked_add(2 + len)?)
}

/// The reference grid and tiling of a SIZ marker segment (ISO/IEC 15444-1 A.5.1).
#[derive(Debug, Clone, Default)]
struct Siz {
    xsiz: u64,
    ysiz: u64,
    xosiz: u64,
    yosiz: u64,
    xtsiz: u64,
    ytsiz: u64,
    xtosiz: u64,
    ytosiz: u64,
    /// XRsiz, YRsiz per component.
    subsampling: Vec<(u64, u64)>,
}

/// The coding style parameters that size the decoder's structures (A.6.1, A.6.2).
#[derive(Debug, Clone)]
struct Style {
    levels: u64,
    /// Code-block width and height exponents (xcb + 2, ycb + 2).
    xcb: u64,
    ycb: u64,
    /// Precinct exponents (PPx, PPy) per resolution, or 15 when not signalled.
    precincts: Vec<(u64, u64)>,
}

/// The worst of every COD and COC found.
#[derive(Debug, Clone)]
struct Worst {
    levels: u64,
    layers: u64,
    xcb: u64,
    ycb: u64,
    ppx: u64,
    ppy: u64,
}

impl Worst {
    fn new() -> Self {
        Worst {
            levels: 0,
            layers: 1,
            xcb: 15,
            ycb: 15,
            ppx: 15,
            ppy: 15,
        }
    }

    fn add(&mut self, s: &Style) {
        self.levels = self.levels.max(s.levels);
        self.xcb = self.xcb.min(s.xcb);
        self.ycb = self.ycb.min(s.ycb);
        for &(x, y) in &s.precincts {
            self.ppx = self.ppx.min(x);
            self.ppy = self.ppy.min(y);
        }
    }
}

const SOT: u16 = 0xFF90;
const SOD: u16 = 0xFF93;
const SIZ: u16 = 0xFF51;
const COD: u16 = 0xFF52;
const COC: u16 = 0xFF53;

/// Parse SPcod/SPcoc (levels, code-block size, precincts) from `p`; `scod` is the
/// Scod/Scoc byte (bit 0: precincts signalled).
fn style(p: &[u8], scod: u8) -> Option<Style> {
    let levels = u64::from(*p.first()?);
    let xcb = u64::from(*p.get(1)?) + 2;
    let ycb = u64::from(*p.get(2)?) + 2;
    let mut precincts = Vec::new();
    if scod & 1 == 1 {
        for i in 0..=levels as usize {
            let pp = *p.get(5 + i)?;
            precincts.push((u64::from(pp & 0x0F), u64::from(pp >> 4)));
        }
    }
    Some(Style {
        levels,
        xcb,
        ycb,
        precincts,
    })
}

fn parse_siz(seg: &[u8]) -> Option<Siz> {
    // Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz (4 each) Csiz(2)
    let csiz = be16(seg, 34)?;
    let mut subsampling = Vec::new();
    for i in 0..usize::from(csiz).min(MAX_COMPONENTS as usize + 1) {
        let at = 36 + 3 * i;
        subsampling.push((u64::from(*seg.get(at + 1)?), u64::from(*seg.get(at + 2)?)));
    }
    Some(Siz {
        xsiz: u64::from(be32(seg, 2)?),
        ysiz: u64::from(be32(seg, 6)?),
        xosiz: u64::from(be32(seg, 10)?),
        yosiz: u64::from(be32(seg, 14)?),
        xtsiz: u64::from(be32(seg, 18)?),
        ytsiz: u64::from(be32(seg, 22)?),
        xtosiz: u64::from(be32(seg, 26)?),
        ytosiz: u64::from(be32(seg, 30)?),
        subsampling,
    })
    .filter(|_| csiz > 0)
}

/// One marker segment at `pos`: (marker, segment body after the length field, next position).
fn segment(b: &[u8], pos: usize) -> Option<(u16, &[u8], usize)> {
    let marker = be16(b, pos)?;
    if marker >> 8 != 0xFF {
        return None;
    }
    let len = usize::from(be16(b, pos + 2)?);
    if len < 2 {
        return None;
    }
    let end = pos.checked_add(2 + len)?;
    Some((marker, b.get(pos + 4..end)?, end))
}

/// Read a COD or COC body into `worst`.
fn read_style(marker: u16, body: &[u8], csiz: usize, worst: &mut Worst) -> Option<()> {
    if marker == COD {
        // Scod, SGcod: progression(1) layers(2) mct(1), then SPcod
        let scod = *body.first()?;
        worst.layers = worst.layers.max(u64::from(be16(body, 2)?));
        worst.add(&style(body.get(5..)?, scod)?);
    } else {
        // Ccoc (1 byte below 257 components, else 2), Scoc, SPcoc
        let c = if csiz < 257 { 1 } else { 2 };
        let scoc = *body.get(c)?;
        worst.add(&style(body.get(c + 1..)?, scoc)?);
    }
    Some(())
}

/// `b` is the codestream, `size` the size of the whole image (a JP2 file's boxes included).
fn check_codestream(b: &[u8], size: u64, format: ImageFormat) -> Result<(), ImageError> {
    let header = || ImageError::Header { format };
    // SOC, then SIZ must come first (A.5.1)
    if be16(b, 0) != Some(0xFF4F) {
        return Err(header());
    }
    let (marker, body, mut pos) = segment(b, 2).ok_or_else(header)?;
    if marker != SIZ {
        return Err(header());
    }
    let csiz = u64::from(be16(body, 34).ok_or_else(header)?);
    over(format, "components", csiz, MAX_COMPONENTS)?;
    let siz = parse_siz(body).ok_or_else(header)?;
    if siz.xtsiz == 0
        || siz.ytsiz == 0
        || siz.xosiz >= siz.xsiz
        || siz.yosiz >= siz.ysiz
        || siz.xtosiz > siz.xosiz
        || siz.ytosiz > siz.yosiz
        || siz.subsampling.iter().any(|&(x, y)| x == 0 || y == 0)
    {
        return Err(header());
    }
    let tiles_x = (siz.xsiz - siz.xtosiz).div_ceil(siz.xtsiz);
    let tiles_y = (siz.ysiz - siz.ytosiz).div_ceil(siz.ytsiz);
    over(format, "tiles", tiles_x.saturating_mul(tiles_y), MAX_TILES)?;

    // the main header's COD/COC, then every tile-part header's
    let mut worst = Worst::new();
    let mut found_cod = false;
    loop {
        let (marker, body, next) = segment(b, pos).ok_or_else(header)?;
        if marker == SOT {
            break;
        }
        if marker == COD || marker == COC {
            found_cod |= marker == COD;
            read_style(marker, body, csiz as usize, &mut worst).ok_or_else(header)?;
        }
        pos = next;
    }
    if !found_cod {
        return Err(header());
    }
    // tile-parts: SOT(Lsot Isot Psot TPsot TNsot), markers up to SOD, Psot bytes in all
    while let Some((SOT, body, mut at)) = segment(b, pos) {
        let psot = usize::try_from(be32(body, 2).ok_or_else(header)?).map_err(|_| header())?;
        while let Some((marker, body, next)) = segment(b, at) {
            if marker == SOD {
                break;
            }
            if marker == COD || marker == COC {
                read_style(marker, body, csiz as usize, &mut worst).ok_or_else(header)?;
            }
            at = next;
        }
        if psot == 0 {
            break; // the last tile-part runs to EOC
        }
        pos = match pos.checked_add(psot) {
            Some(p) if p > pos => p,
            _ => break,
        };
    }

    over(
        format,
        "decomposition levels",
        worst.levels,
        MAX_DECOMPOSITION_LEVELS,
    )?;
    over(format, "quality layers", worst.layers, MAX_LAYERS)?;
    let (code_blocks, precincts) = count(&siz, &worst, tiles_x, tiles_y);
    over(format, "precincts", precincts, MAX_PRECINCTS)?;
    over(format, "code-blocks", code_blocks, MAX_CODE_BLOCKS)?;
    let code_block_layers = code_blocks.saturating_mul(worst.layers);
    over(
        format,
        "code-block layers",
        code_block_layers,
        MAX_CODE_BLOCK_LAYERS,
    )?;
    let work = decode_work(&siz, worst.levels, code_block_layers);
    let limit = FREE_DECODE_WORK.saturating_add(size.saturating_mul(DECODE_WORK_PER_BYTE));
    if work > limit {
        return Err(ImageError::DecodeCost {
            format,
            width: siz.xsiz - siz.xosiz,
            height: siz.ysiz - siz.yosiz,
            components: csiz,
            levels: worst.levels,
            layers: worst.layers,
            bytes: size,
            work,
            limit,
        });
    }
    Ok(())
}

/// Estimated decoding work, in units of about one sample operation: every output
/// sample (width × height × components), every sample each inverse wavelet step
/// produces (step `k` of `levels` makes the resolution reduced `k` times from the
/// component's extent, B-14), and [`CODE_BLOCK_LAYER_WORK`] per code-block layer. The
/// weights are measured on `emrtd __decode-image` with declared images and no coded
/// data (4096², one component: 0.29 s user time without levels, 0.56 s with five,
/// 0.75 s with 8×8 code-blocks in 15 layers); they rank inputs, they are not a timing.
fn decode_work(siz: &Siz, levels: u64, code_block_layers: u64) -> u64 {
    let (width, height) = (siz.xsiz - siz.xosiz, siz.ysiz - siz.yosiz);
    let components = siz.subsampling.len() as u64;
    let mut work = width.saturating_mul(height).saturating_mul(components);
    for &(xr, yr) in &siz.subsampling {
        let (x0, x1) = (siz.xosiz.div_ceil(xr), siz.xsiz.div_ceil(xr));
        let (y0, y1) = (siz.yosiz.div_ceil(yr), siz.ysiz.div_ceil(yr));
        for k in 0..levels {
            let rw = ceil_shift(x1, k) - ceil_shift(x0, k);
            let rh = ceil_shift(y1, k) - ceil_shift(y0, k);
            work = work.saturating_add(rw.saturating_mul(rh));
        }
    }
    work.saturating_add(code_block_layers.saturating_mul(CODE_BLOCK_LAYER_WORK))
}

/// `ceil(a / 2^n)`.
fn ceil_shift(a: u64, n: u64) -> u64 {
    if n >= 63 {
        u64::from(a > 0)
    } else {
        a.div_ceil(1 << n)
    }
}

/// Cells of size `2^e` covering `len` samples cut into at most `tiles` pieces.
fn cells(len: u64, e: u64, tiles: u64) -> u64 {
    if len == 0 {
        0
    } else {
        ceil_shift(len, e).saturating_add(tiles.min(len))
    }
}

/// Upper bounds of (code-blocks, precincts) over all tiles, components, resolutions
/// and sub-bands (ISO/IEC 15444-1 B.5–B.7), with the worst coding style everywhere.
fn count(siz: &Siz, w: &Worst, tiles_x: u64, tiles_y: u64) -> (u64, u64) {
    let mut blocks = 0u64;
    let mut precincts = 0u64;
    for &(xr, yr) in &siz.subsampling {
        // the component's extent (B-12)
        let (x0, x1) = (siz.xosiz.div_ceil(xr), siz.xsiz.div_ceil(xr));
        let (y0, y1) = (siz.yosiz.div_ceil(yr), siz.ysiz.div_ceil(yr));
        for r in 0..=w.levels {
            let n = w.levels - r;
            // resolution extent (B-14)
            let rw = ceil_shift(x1, n) - ceil_shift(x0, n);
            let rh = ceil_shift(y1, n) - ceil_shift(y0, n);
            // sub-bands: LL at r = 0, else HL, LH, HH of about half the resolution
            let (bands, bw, bh) = if r == 0 {
                (1, rw, rh)
            } else {
                (3, rw.div_ceil(2) + 1, rh.div_ceil(2) + 1)
            };
            // code-blocks never exceed the precinct (B.7: xcb' = min(xcb, PPx - 1) for r > 0)
            let (cx, cy) = if r == 0 {
                (w.xcb.min(w.ppx), w.ycb.min(w.ppy))
            } else {
                (
                    w.xcb.min(w.ppx.saturating_sub(1)),
                    w.ycb.min(w.ppy.saturating_sub(1)),
                )
            };
            let per_band = cells(bw, cx, tiles_x).saturating_mul(cells(bh, cy, tiles_y));
            blocks = blocks.saturating_add(per_band.saturating_mul(bands));
            let per_res = cells(rw, w.ppx, tiles_x).saturating_mul(cells(rh, w.ppy, tiles_y));
            precincts = precincts.saturating_add(per_res.saturating_mul(bands));
        }
    }
    (blocks, precincts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::image::vector;

    /// A codestream: SOC, SIZ, COD, QCD, one tile-part with no data, EOC.
    fn codestream(grid: u32, offset: u32, tile: u32, layers: u16, cb_exp: u8, levels: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 41, 0x00, 0x00];
        for v in [grid, grid, offset, offset, tile, tile, offset, offset] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&[0x00, 0x01, 0x07, 0x01, 0x01]);
        // COD: Scod 0, LRCP, layers, no MCT, levels, xcb, ycb, style 0, 5-3 wavelet
        b.extend_from_slice(&[0xFF, 0x52, 0x00, 12, 0x00, 0x00]);
        b.extend_from_slice(&layers.to_be_bytes());
        b.extend_from_slice(&[0x00, levels, cb_exp - 2, cb_exp - 2, 0x00, 0x01]);
        // QCD: no quantisation, guard bits 2, one exponent per sub-band
        let bands = 1 + 3 * usize::from(levels);
        b.extend_from_slice(&[0xFF, 0x5C]);
        b.extend_from_slice(&u16::try_from(3 + bands).unwrap().to_be_bytes());
        b.push(0x40);
        b.extend(std::iter::repeat_n(0x40, bands));
        // SOT: tile 0, Psot = 14 (SOT + SOD), part 0 of 1; SOD; EOC
        b.extend_from_slice(&[
            0xFF, 0x90, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0E, 0x00, 0x01,
        ]);
        b.extend_from_slice(&[0xFF, 0x93, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn real_images_pass() {
        for f in [
            "generated/face_rgb.jpg",
            "generated/face_gray.jpg",
            "generated/face_rgb.j2k",
            "generated/face_gray.jp2",
        ] {
            let b = vector(f);
            let format = super::super::detect(&b).unwrap();
            check(&b, format).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }

    #[test]
    fn one_pixel_tiles_are_refused() {
        // a 4096² image at the far corner of a 65535² grid, 1×1 tiles
        let b = codestream(65_535, 61_439, 1, 1, 6, 5);
        let e = check(&b, ImageFormat::J2k).unwrap_err();
        assert!(
            matches!(
                e,
                ImageError::OverBudget {
                    what: "tiles",
                    count: 16_777_216,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn tiny_code_blocks_with_many_layers_are_refused() {
        let b = codestream(4_096, 0, 4_096, 32, 2, 5);
        let e = check(&b, ImageFormat::J2k).unwrap_err();
        assert!(
            matches!(
                e,
                ImageError::OverBudget {
                    what: "code-blocks" | "code-block layers",
                    ..
                }
            ),
            "{e}"
        );
        // the same image with 64×64 code-blocks and 8 layers has few enough code-blocks;
        // without coded data it is refused for its decoding work, with enough bytes it passes
        let b = codestream(4_096, 0, 4_096, 8, 6, 5);
        let e = check(&b, ImageFormat::J2k).unwrap_err();
        assert!(matches!(e, ImageError::DecodeCost { .. }), "{e}");
        check(&padded(&b, 200_000), ImageFormat::J2k).unwrap();
    }

    /// `b` with COM marker segments (A.9.2) of `n` bytes in all after the main header.
    fn padded(b: &[u8], n: usize) -> Vec<u8> {
        let sot = b.windows(2).position(|w| w == [0xFF, 0x90]).unwrap();
        let mut out = b[..sot].to_vec();
        let mut left = n;
        while left > 0 {
            let chunk = left.min(60_000);
            out.extend_from_slice(&[0xFF, 0x64]);
            out.extend_from_slice(&u16::try_from(chunk + 4).unwrap().to_be_bytes());
            out.extend_from_slice(&[0x00, 0x01]); // Rcom: Latin text
            out.extend(std::iter::repeat_n(b'x', chunk));
            left -= chunk;
        }
        out.extend_from_slice(&b[sot..]);
        out
    }

    #[test]
    fn declared_work_without_data_is_refused() {
        // the fuzz finding: one 4096² component, 5 levels, 8×8 code-blocks, 15 layers,
        // no coded data, 96 bytes
        let b = codestream(4_096, 0, 4_096, 15, 3, 5);
        assert_eq!(b.len(), 96);
        let e = check(&b, ImageFormat::J2k).unwrap_err();
        let ImageError::DecodeCost {
            width,
            height,
            components,
            levels,
            layers,
            bytes,
            work,
            limit,
            ..
        } = e
        else {
            panic!("{e}");
        };
        assert_eq!(
            (width, height, components, levels, layers, bytes),
            (4_096, 4_096, 1, 5, 15, 96)
        );
        assert_eq!(limit, FREE_DECODE_WORK + 96 * DECODE_WORK_PER_BYTE);
        // output 4096², the five inverse transform steps 4096² + 2048² + … + 256²,
        // 4 per code-block layer
        let steps: u64 = (0..5).map(|k| (4_096u64 >> k) * (4_096 >> k)).sum();
        let (blocks, _) = count(
            &parse_siz(&b[6..]).unwrap(),
            &Worst {
                levels: 5,
                layers: 15,
                xcb: 3,
                ycb: 3,
                ppx: 15,
                ppy: 15,
            },
            1,
            1,
        );
        assert_eq!(work, 4_096 * 4_096 + steps + 4 * 15 * blocks);
        let text = e.to_string();
        for part in [
            "4096x4096 pixels",
            "1 component(s)",
            "5 decomposition level(s)",
            "15 quality layer(s)",
            &format!("{work} units of decoding work for 96 bytes"),
            &format!("more than the {limit} allowed (8388608 + 256 per byte)"),
        ] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn allowance_grows_with_the_bytes_present() {
        let b = codestream(4_096, 0, 4_096, 15, 3, 5);
        let ImageError::DecodeCost { work, .. } = check(&b, ImageFormat::J2k).unwrap_err() else {
            panic!("not a decode cost");
        };
        // the smallest size whose allowance covers the work passes, one byte less does not
        let need = usize::try_from((work - FREE_DECODE_WORK).div_ceil(DECODE_WORK_PER_BYTE)).unwrap();
        // each COM segment adds 6 bytes of marker, length and Rcom around its text
        let segments = |text: usize| text.div_ceil(60_000);
        let mut text = need - b.len();
        text -= 6 * segments(text);
        let ok = padded(&b, text);
        assert_eq!(ok.len(), need);
        check(&ok, ImageFormat::J2k).unwrap();
        let short = padded(&b, text - 1);
        assert!(matches!(
            check(&short, ImageFormat::J2k),
            Err(ImageError::DecodeCost { .. })
        ));
        // a JP2 file is measured whole: the same codestream in a JP2 wrapper is refused too
        let mut jp2 = vec![0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
        jp2.extend_from_slice(&u32::try_from(8 + b.len()).unwrap().to_be_bytes());
        jp2.extend_from_slice(b"jp2c");
        jp2.extend_from_slice(&b);
        assert!(matches!(
            check(&jp2, ImageFormat::Jp2),
            Err(ImageError::DecodeCost { bytes: 116, .. })
        ));
    }

    #[test]
    fn real_faces_need_little_of_the_free_allowance() {
        // a 413×531 RGB face with five levels: 1.5 M units, under a fifth of the free part
        let b = vector("generated/face_rgb.j2k");
        let work = decode_work(&parse_siz(&b[6..]).unwrap(), 5, 0);
        assert!(work < FREE_DECODE_WORK / 5, "{work}");
        assert!(work > 413 * 531 * 3, "{work}");
    }

    #[test]
    fn tile_part_cod_counts_too() {
        let mut b = codestream(4_096, 0, 4_096, 1, 6, 5);
        // replace the tile-part: SOT with a COD of 4×4 blocks and 32 layers before SOD
        let sot = b.windows(2).position(|w| w == [0xFF, 0x90]).unwrap();
        b.truncate(sot);
        let cod = [
            0xFF, 0x52, 0x00, 12, 0x00, 0x00, 0x00, 32, 0x00, 5, 0, 0, 0x00, 0x01,
        ];
        let psot = 12 + cod.len() + 2;
        b.extend_from_slice(&[0xFF, 0x90, 0x00, 0x0A, 0x00, 0x00]);
        b.extend_from_slice(&u32::try_from(psot).unwrap().to_be_bytes());
        b.extend_from_slice(&[0x00, 0x01]);
        b.extend_from_slice(&cod);
        b.extend_from_slice(&[0xFF, 0x93, 0xFF, 0xD9]);
        assert!(matches!(
            check(&b, ImageFormat::J2k),
            Err(ImageError::OverBudget { .. })
        ));
    }

    #[test]
    fn jpeg_components_and_sampling() {
        // SOI, SOF0 with five components
        let mut jpeg = vec![
            0xFF,
            0xD8,
            0xFF,
            0xC0,
            0x00,
            8 + 15,
            0x08,
            0x00,
            0x10,
            0x00,
            0x10,
            5,
        ];
        for c in 1..=5u8 {
            jpeg.extend_from_slice(&[c, 0x11, 0x00]);
        }
        assert!(matches!(
            check(&jpeg, ImageFormat::Jpeg),
            Err(ImageError::OverBudget {
                what: "components",
                count: 5,
                ..
            })
        ));
        // one component sampled 0×1
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 11, 0x08, 0x00, 0x10, 0x00, 0x10, 1, 1, 0x01, 0,
        ];
        assert!(matches!(
            check(&jpeg, ImageFormat::Jpeg),
            Err(ImageError::Header { .. })
        ));
    }
}
