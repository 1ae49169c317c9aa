//! A decoder for WSQ grey-scale fingerprint images (FBI "WSQ Gray-scale Fingerprint Image
//! Compression Specification", IAFIS-IC-0110 v3.1), written here from the specification.
//!
//! A WSQ file is a sequence of marker segments (`FF A0` SOI, `FF A8` COM, `FF A4` DTT
//! transform table, `FF A5` DQT quantisation table, `FF A6` DHT Huffman tables, `FF A7`
//! DRT restart interval, `FF A2` SOF frame header, `FF A3` SOB block header, `FF A1`
//! EOI). The picture was
//!
//! 1. shifted and scaled, `I' = (I - M) / R` (M and R in the frame header);
//! 2. decomposed into 64 subbands by 20 two-dimensional analysis steps of a symmetric
//!    biorthogonal filter pair (the 9/7 pair of the transform table), each step splitting
//!    a rectangle into four quadrants, with the low and high halves swapped in the
//!    rectangles lying right of or below their parent's centre (the specification's
//!    wavelet tree);
//! 3. scalar-quantised per subband (bin width Q, zero bin Z, bin centre C);
//! 4. Huffman-coded in three blocks (subbands 0–18, 19–51, 52–63) as runs of zeros and
//!    coefficient values.
//!
//! [`decode`] undoes each step: Huffman decoding straight into the subbands (no
//! intermediate coefficient list), dequantisation, the inverse of the 20 analysis steps
//! with the synthesis filters derived from the transmitted analysis filters and the
//! symmetric extensions that make the transform invertible, then `I = round(I'·R + M)`
//! clamped to 0..=255.
//!
//! Hostile input: the picture size is bounded before anything is allocated (the caller's
//! limits), Huffman tables are checked (code lengths 1..16, at most 256 values, no
//! over-full length), filters are at most [`MAX_FILTER_TAPS`] taps, and each segment
//! length is checked against the bytes present. The memory used is one `f32` plane and
//! one byte plane of the picture plus a line buffer; the time is linear in the picture
//! size. Nothing here panics or indexes unchecked.

use std::fmt;

/// Longest analysis filter accepted in a transform table (the specification's are 9 and 7).
pub const MAX_FILTER_TAPS: usize = 31;
/// Huffman table identifiers accepted (0..=7).
pub const MAX_HUFFMAN_TABLES: usize = 8;
/// Number of subbands of the WSQ decomposition.
pub const SUBBANDS: usize = 64;

/// Why a WSQ image could not be decoded. Carries no image content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsqError {
    /// The data ends inside the named structure.
    Truncated(&'static str),
    /// A marker was found where it is not allowed, or an unknown one.
    UnexpectedMarker {
        /// The marker (`FFxx`).
        marker: u16,
        /// What was being read.
        context: &'static str,
    },
    /// A value is out of its allowed range.
    Invalid(&'static str),
    /// A table the image needs was not given before the first block.
    Missing(&'static str),
    /// A feature this decoder does not implement (even-length filters).
    Unsupported(&'static str),
    /// The frame header announces a picture beyond the caller's limits.
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

impl fmt::Display for WsqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsqError::Truncated(what) => write!(f, "wsq data ends inside the {what}"),
            WsqError::UnexpectedMarker { marker, context } => {
                write!(f, "unexpected wsq marker {marker:04X} in the {context}")
            }
            WsqError::Invalid(what) => write!(f, "invalid wsq {what}"),
            WsqError::Missing(what) => write!(f, "wsq {what} missing before the first block"),
            WsqError::Unsupported(what) => write!(f, "unsupported wsq {what}"),
            WsqError::TooLarge { width, height } => {
                write!(f, "wsq image of {width}x{height} pixels exceeds the size limit")
            }
        }
    }
}

impl std::error::Error for WsqError {}

const SOI: u8 = 0xA0;
const EOI: u8 = 0xA1;
const SOF: u8 = 0xA2;
const SOB: u8 = 0xA3;
const DTT: u8 = 0xA4;
const DQT: u8 = 0xA5;
const DHT: u8 = 0xA6;
const DRT: u8 = 0xA7;
const COM: u8 = 0xA8;

/// The frame header (SOF).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameHeader {
    /// A: the black level (usually 0).
    pub black: u8,
    /// B: the white level (usually 255).
    pub white: u8,
    /// Y: number of lines.
    pub height: u16,
    /// X: samples per line.
    pub width: u16,
    /// M: the shift subtracted before the transform.
    pub shift: f32,
    /// R: the scale divided before the transform.
    pub scale: f32,
    /// Encoder algorithm number.
    pub encoder: u8,
    /// Software implementation number.
    pub software: u16,
}

/// A decoded WSQ picture: 8-bit grey samples, rows top to bottom.
#[derive(Clone, PartialEq)]
pub struct WsqImage {
    /// The frame header as read.
    pub frame: FrameHeader,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` samples.
    pub pixels: Vec<u8>,
}

// never print the samples (a fingerprint is personal data)
crate::lds::quirk::summary_debug!(WsqImage, |w| {
    frame: w.frame,
    width: w.width,
    height: w.height,
});

/// Big-endian reader over the marker segments.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WsqError> {
        let end = self.pos.checked_add(n).ok_or(WsqError::Truncated(what))?;
        let s = self.data.get(self.pos..end).ok_or(WsqError::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, WsqError> {
        self.take(1, what)?
            .first()
            .copied()
            .ok_or(WsqError::Truncated(what))
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, WsqError> {
        match self.take(2, what)? {
            [a, b] => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(WsqError::Truncated(what)),
        }
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, WsqError> {
        match self.take(4, what)? {
            [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => Err(WsqError::Truncated(what)),
        }
    }
    /// A marker `FF xx`; returns `xx`.
    fn marker(&mut self, what: &'static str) -> Result<u8, WsqError> {
        let m = self.u16(what)?;
        let [hi, lo] = m.to_be_bytes();
        if hi != 0xFF {
            return Err(WsqError::Invalid("marker (a segment does not start with FF)"));
        }
        Ok(lo)
    }
    /// The body of a segment whose two-byte length (counting itself) comes next.
    fn segment(&mut self, what: &'static str) -> Result<Bytes<'a>, WsqError> {
        let len = usize::from(self.u16(what)?);
        let body = len.checked_sub(2).ok_or(WsqError::Invalid("segment length"))?;
        Ok(Bytes {
            data: self.take(body, what)?,
            pos: 0,
        })
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// `value / 10^scale`, as the tables write real numbers.
fn scaled(value: u32, scale: u8) -> f32 {
    (f64::from(value) / 10f64.powi(i32::from(scale))) as f32
}

/// The analysis filters of the transform table, each as its centre tap and one side
/// (the filters are symmetric and of odd length).
#[derive(Debug, Clone, PartialEq)]
struct Filters {
    /// Low-pass analysis half filter, centre first.
    low: Vec<f32>,
    /// High-pass analysis half filter, centre first.
    high: Vec<f32>,
}

fn read_filters(mut s: Bytes<'_>) -> Result<Filters, WsqError> {
    const WHAT: &str = "transform table";
    let low_len = usize::from(s.u8(WHAT)?);
    let high_len = usize::from(s.u8(WHAT)?);
    if low_len == 0 || high_len == 0 || low_len > MAX_FILTER_TAPS || high_len > MAX_FILTER_TAPS {
        return Err(WsqError::Invalid("transform table filter length"));
    }
    if low_len % 2 == 0 || high_len % 2 == 0 {
        return Err(WsqError::Unsupported("even-length transform filters"));
    }
    let mut half = |n: usize| -> Result<Vec<f32>, WsqError> {
        (0..n.div_ceil(2))
            .map(|_| {
                let sign = s.u8(WHAT)?;
                let scale = s.u8(WHAT)?;
                let v = scaled(s.u32(WHAT)?, scale);
                Ok(if sign == 0 { v } else { -v })
            })
            .collect()
    };
    let low = half(low_len)?;
    let high = half(high_len)?;
    Ok(Filters { low, high })
}

/// Quantisation parameters (DQT).
#[derive(Debug, Clone, PartialEq)]
struct Quantisation {
    /// C: bin centre.
    centre: f32,
    /// Q per subband (0: the subband is not transmitted).
    bin: [f32; SUBBANDS],
    /// Z per subband.
    zero_bin: [f32; SUBBANDS],
}

fn read_quantisation(mut s: Bytes<'_>) -> Result<Quantisation, WsqError> {
    const WHAT: &str = "quantisation table";
    let scale = s.u8(WHAT)?;
    let centre = scaled(u32::from(s.u16(WHAT)?), scale);
    let mut q = Quantisation {
        centre,
        bin: [0.0; SUBBANDS],
        zero_bin: [0.0; SUBBANDS],
    };
    for (bin, zero) in q.bin.iter_mut().zip(q.zero_bin.iter_mut()) {
        let e = s.u8(WHAT)?;
        *bin = scaled(u32::from(s.u16(WHAT)?), e);
        let e = s.u8(WHAT)?;
        *zero = scaled(u32::from(s.u16(WHAT)?), e);
        if !bin.is_finite() || !zero.is_finite() {
            return Err(WsqError::Invalid("quantisation table value"));
        }
    }
    Ok(q)
}

/// A canonical Huffman table (code lengths 1..=16, as in JPEG).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Huffman {
    /// First code of each length 1..=16 (index 0 unused).
    first: [u32; 17],
    /// Number of codes of each length.
    count: [u32; 17],
    /// Index into `values` of the first code of each length.
    offset: [usize; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn read(s: &mut Bytes<'_>) -> Result<Huffman, WsqError> {
        const WHAT: &str = "huffman table";
        let mut count = [0u32; 17];
        for c in count.iter_mut().skip(1) {
            *c = u32::from(s.u8(WHAT)?);
        }
        let total: u32 = count.iter().sum();
        if total > 256 {
            return Err(WsqError::Invalid("huffman table size"));
        }
        let mut first = [0u32; 17];
        let mut offset = [0usize; 17];
        let (mut code, mut index) = (0u32, 0usize);
        for len in 1..=16usize {
            let n = count.get(len).copied().unwrap_or(0);
            if let (Some(f), Some(o)) = (first.get_mut(len), offset.get_mut(len)) {
                *f = code;
                *o = index;
            }
            code += n;
            index += n as usize;
            if code > (1u32 << len) {
                return Err(WsqError::Invalid(
                    "huffman table (more codes than a length allows)",
                ));
            }
            code <<= 1;
        }
        let values = s.take(index, WHAT)?.to_vec();
        Ok(Huffman {
            first,
            count,
            offset,
            values,
        })
    }
}

/// Reads DHT segment bodies into the table slots.
fn read_huffman_tables(
    mut s: Bytes<'_>,
    tables: &mut [Option<Huffman>; MAX_HUFFMAN_TABLES],
) -> Result<(), WsqError> {
    while !s.done() {
        let id = usize::from(s.u8("huffman table")?);
        let table = Huffman::read(&mut s)?;
        *tables
            .get_mut(id)
            .ok_or(WsqError::Invalid("huffman table identifier"))? = Some(table);
    }
    Ok(())
}

fn read_frame(mut s: Bytes<'_>) -> Result<FrameHeader, WsqError> {
    const WHAT: &str = "frame header";
    let black = s.u8(WHAT)?;
    let white = s.u8(WHAT)?;
    let height = s.u16(WHAT)?;
    let width = s.u16(WHAT)?;
    let e = s.u8(WHAT)?;
    let shift = scaled(u32::from(s.u16(WHAT)?), e);
    let e = s.u8(WHAT)?;
    let scale = scaled(u32::from(s.u16(WHAT)?), e);
    let encoder = s.u8(WHAT)?;
    let software = s.u16(WHAT)?;
    Ok(FrameHeader {
        black,
        white,
        height,
        width,
        shift,
        scale,
        encoder,
        software,
    })
}

/// The tables and the frame read before the first block.
struct Headers<'a> {
    frame: FrameHeader,
    filters: Filters,
    quant: Quantisation,
    tables: [Option<Huffman>; MAX_HUFFMAN_TABLES],
    /// Reader positioned after the first SOB header.
    rest: Bytes<'a>,
    first_table: usize,
}

/// Reads the frame header only (for the dimensions), without decoding.
pub fn frame_header(data: &[u8]) -> Result<FrameHeader, WsqError> {
    let mut b = Bytes { data, pos: 0 };
    if b.marker("start of image")? != SOI {
        return Err(WsqError::Invalid("start of image marker"));
    }
    loop {
        match b.marker("marker segments")? {
            SOF => return read_frame(b.segment("frame header")?),
            DTT | DQT | DHT | DRT | COM => {
                b.segment("table")?;
            }
            other => {
                return Err(WsqError::UnexpectedMarker {
                    marker: 0xFF00 | u16::from(other),
                    context: "headers before the frame",
                });
            }
        }
    }
}

fn read_headers(data: &[u8]) -> Result<Headers<'_>, WsqError> {
    let mut b = Bytes { data, pos: 0 };
    if b.marker("start of image")? != SOI {
        return Err(WsqError::Invalid("start of image marker"));
    }
    let (mut frame, mut filters, mut quant) = (None, None, None);
    let mut tables: [Option<Huffman>; MAX_HUFFMAN_TABLES] = Default::default();
    loop {
        match b.marker("marker segments")? {
            SOF => frame = Some(read_frame(b.segment("frame header")?)?),
            DTT => filters = Some(read_filters(b.segment("transform table")?)?),
            DQT => quant = Some(read_quantisation(b.segment("quantisation table")?)?),
            DHT => read_huffman_tables(b.segment("huffman table")?, &mut tables)?,
            DRT | COM => {
                b.segment("segment")?;
            }
            SOB => {
                let mut s = b.segment("block header")?;
                let first_table = usize::from(s.u8("block header")?);
                return Ok(Headers {
                    frame: frame.ok_or(WsqError::Missing("frame header"))?,
                    filters: filters.ok_or(WsqError::Missing("transform table"))?,
                    quant: quant.ok_or(WsqError::Missing("quantisation table"))?,
                    tables,
                    rest: b,
                    first_table,
                });
            }
            other => {
                return Err(WsqError::UnexpectedMarker {
                    marker: 0xFF00 | u16::from(other),
                    context: "headers before the first block",
                });
            }
        }
    }
}

/// The entropy-coded coefficient stream across the blocks.
struct Coefficients<'a> {
    data: &'a [u8],
    pos: usize,
    /// Bits not yet used of the current byte, most significant first.
    bits: u8,
    nbits: u8,
    tables: [Option<Huffman>; MAX_HUFFMAN_TABLES],
    table: usize,
    zeros: u32,
    /// The last block has ended (EOI reached).
    ended: bool,
}

enum Symbol {
    Zeros(u32),
    Value(i32),
}

impl<'a> Coefficients<'a> {
    /// Two bytes at the current position forming a marker other than a stuffed `FF 00`.
    fn marker_here(&self) -> Option<u8> {
        match self.data.get(self.pos..self.pos.saturating_add(2)) {
            Some([0xFF, m]) if *m != 0 => Some(*m),
            _ => None,
        }
    }

    /// Next entropy-coded bit; `None` at a marker or at the end of the data.
    fn bit(&mut self) -> Option<u8> {
        if self.nbits == 0 {
            let b = *self.data.get(self.pos)?;
            if b == 0xFF {
                if self.data.get(self.pos + 1) != Some(&0) {
                    return None;
                }
                self.pos += 2;
            } else {
                self.pos += 1;
            }
            self.bits = b;
            self.nbits = 8;
        }
        self.nbits -= 1;
        Some((self.bits >> self.nbits) & 1)
    }

    fn bits_value(&mut self, n: u8) -> Result<u32, WsqError> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.bit().ok_or(WsqError::Truncated("coefficient data"))?);
        }
        Ok(v)
    }

    /// True when the bits left in the current byte are the 1-bit padding and a marker
    /// follows: the block (or restart interval) ends here.
    fn at_block_end(&self) -> Option<u8> {
        let mask = (1u16 << self.nbits) as u8;
        let pad = mask.wrapping_sub(1);
        if self.bits & pad == pad {
            if let Some(m) = self.marker_here() {
                return Some(m);
            }
            if self.pos >= self.data.len() {
                return Some(EOI);
            }
        }
        None
    }

    /// Reads the segments between two blocks up to the next SOB (or EOI).
    fn next_block(&mut self) -> Result<(), WsqError> {
        let mut b = Bytes {
            data: self.data,
            pos: self.pos,
        };
        loop {
            if b.done() {
                self.ended = true;
                self.pos = b.pos;
                return Ok(());
            }
            match b.marker("marker segments")? {
                EOI => {
                    self.ended = true;
                    self.pos = b.pos;
                    return Ok(());
                }
                DHT => read_huffman_tables(b.segment("huffman table")?, &mut self.tables)?,
                DRT | COM => {
                    b.segment("segment")?;
                }
                SOB => {
                    let mut s = b.segment("block header")?;
                    self.table = usize::from(s.u8("block header")?);
                    self.pos = b.pos;
                    self.nbits = 0;
                    return Ok(());
                }
                other => {
                    return Err(WsqError::UnexpectedMarker {
                        marker: 0xFF00 | u16::from(other),
                        context: "segments between blocks",
                    });
                }
            }
        }
    }

    fn symbol(&mut self) -> Result<Symbol, WsqError> {
        loop {
            if self.ended {
                return Err(WsqError::Truncated(
                    "coefficient data (fewer coefficients than the subbands hold)",
                ));
            }
            match self.at_block_end() {
                Some(m) if (0xB0..=0xB7).contains(&m) => {
                    // restart marker: byte-aligned, nothing to reset but the bits
                    self.pos += 2;
                    self.nbits = 0;
                    continue;
                }
                Some(_) => {
                    self.nbits = 0;
                    self.next_block()?;
                    continue;
                }
                None => {}
            }
            break;
        }
        let index = self.table;
        let missing = WsqError::Missing("huffman table named by a block");
        if self.tables.get(index).and_then(Option::as_ref).is_none() {
            return Err(missing);
        }
        let mut code = 0u32;
        let mut found = None;
        for len in 1..=16usize {
            let bit = self.bit().ok_or(WsqError::Truncated("coefficient data"))?;
            code = (code << 1) | u32::from(bit);
            let table = self
                .tables
                .get(index)
                .and_then(Option::as_ref)
                .ok_or(missing.clone())?;
            let (Some(first), Some(count), Some(offset)) =
                (table.first.get(len), table.count.get(len), table.offset.get(len))
            else {
                break;
            };
            if code >= *first && code - first < *count {
                found = table.values.get(offset + (code - first) as usize).copied();
                break;
            }
        }
        let sym = found.ok_or(WsqError::Invalid("huffman code"))?;
        Ok(match sym {
            1..=100 => Symbol::Zeros(u32::from(sym)),
            101 => Symbol::Value(self.bits_value(8)? as i32),
            102 => Symbol::Value(-(self.bits_value(8)? as i32)),
            103 => Symbol::Value(self.bits_value(16)? as i32),
            104 => Symbol::Value(-(self.bits_value(16)? as i32)),
            105 => Symbol::Zeros(self.bits_value(8)?),
            106 => Symbol::Zeros(self.bits_value(16)?),
            107..=254 => Symbol::Value(i32::from(sym) - 180),
            _ => return Err(WsqError::Invalid("huffman symbol")),
        })
    }

    fn next(&mut self) -> Result<i32, WsqError> {
        loop {
            if self.zeros > 0 {
                self.zeros -= 1;
                return Ok(0);
            }
            match self.symbol()? {
                Symbol::Zeros(n) => self.zeros = n,
                Symbol::Value(v) => return Ok(v),
            }
        }
    }
}

/// A rectangle of the coefficient plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Rect {
    pub(crate) x: usize,
    pub(crate) y: usize,
    pub(crate) w: usize,
    pub(crate) h: usize,
}

/// One two-dimensional analysis step: its rectangle, and whether the high half comes
/// first horizontally (`flip_x`) or vertically (`flip_y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Step {
    pub(crate) rect: Rect,
    pub(crate) flip_x: bool,
    pub(crate) flip_y: bool,
}

impl Step {
    /// Length of the first half of `n` samples: the low half (`ceil`) unless flipped.
    fn first(n: usize, flip: bool) -> usize {
        if flip { n / 2 } else { n.div_ceil(2) }
    }

    /// The four quadrants in raster order (top-left, top-right, bottom-left, bottom-right).
    pub(crate) fn quadrants(&self) -> [Rect; 4] {
        let r = self.rect;
        let w1 = Self::first(r.w, self.flip_x);
        let h1 = Self::first(r.h, self.flip_y);
        [
            Rect {
                x: r.x,
                y: r.y,
                w: w1,
                h: h1,
            },
            Rect {
                x: r.x + w1,
                y: r.y,
                w: r.w - w1,
                h: h1,
            },
            Rect {
                x: r.x,
                y: r.y + h1,
                w: w1,
                h: r.h - h1,
            },
            Rect {
                x: r.x + w1,
                y: r.y + h1,
                w: r.w - w1,
                h: r.h - h1,
            },
        ]
    }

    /// A child step on quadrant `q` (0..4), flipped as its position says (right: x,
    /// bottom: y).
    fn child(&self, q: usize) -> Step {
        let quads = self.quadrants();
        Step {
            rect: quads.get(q).copied().unwrap_or_default(),
            flip_x: q % 2 == 1,
            flip_y: q >= 2,
        }
    }
}

/// The 20 analysis steps (in the encoder's order) and the 64 subbands of a
/// `width` × `height` picture.
pub(crate) fn layout(width: usize, height: usize) -> ([Step; 20], [Rect; SUBBANDS]) {
    let mut steps = [Step::default(); 20];
    let mut bands = [Rect::default(); SUBBANDS];
    let mut set_step = |i: usize, s: Step| {
        if let Some(slot) = steps.get_mut(i) {
            *slot = s;
        }
    };
    let mut set_bands = |first: usize, rects: &[Rect]| {
        for (i, r) in rects.iter().enumerate() {
            if let Some(slot) = bands.get_mut(first + i) {
                *slot = *r;
            }
        }
    };
    let s0 = Step {
        rect: Rect {
            x: 0,
            y: 0,
            w: width,
            h: height,
        },
        flip_x: false,
        flip_y: false,
    };
    let s1 = s0.child(0);
    let s2 = s0.child(1);
    let s3 = s0.child(2);
    let s14 = s1.child(0);
    let s4 = s1.child(1);
    let s5 = s1.child(2);
    let (s6, s7, s8, s9) = (s4.child(0), s4.child(1), s4.child(2), s4.child(3));
    let (s10, s11, s12, s13) = (s5.child(0), s5.child(1), s5.child(2), s5.child(3));
    let (s15, s16, s17, s18) = (s14.child(0), s14.child(1), s14.child(2), s14.child(3));
    let s19 = s15.child(0);
    for (i, s) in [
        s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19,
    ]
    .into_iter()
    .enumerate()
    {
        set_step(i, s);
    }
    // block 1: subbands 0..=18
    set_bands(0, &s19.quadrants());
    let q15 = s15.quadrants();
    set_bands(4, q15.get(1..).unwrap_or_default());
    set_bands(7, &s16.quadrants());
    set_bands(11, &s17.quadrants());
    set_bands(15, &s18.quadrants());
    // block 2: subbands 19..=51
    for (i, s) in [s6, s7, s8, s9, s10, s11, s12, s13].into_iter().enumerate() {
        set_bands(19 + 4 * i, &s.quadrants());
    }
    if let Some(hh) = s1.quadrants().get(3) {
        set_bands(51, &[*hh]);
    }
    // block 3: subbands 52..=63 (60..=63 partition the untransformed diagonal quadrant)
    set_bands(52, &s2.quadrants());
    set_bands(56, &s3.quadrants());
    set_bands(60, &s0.child(3).quadrants());
    (steps, bands)
}

/// Synthesis filters from the analysis half filters: `g0[m] = (-1)^m h1[m]`,
/// `g1[m] = (-1)^m h0[m]`, as full filters indexed from `-r`.
fn synthesis(f: &Filters) -> (Vec<f32>, Vec<f32>) {
    let full = |half: &[f32]| -> Vec<f32> {
        let r = half.len().saturating_sub(1) as isize;
        (-r..=r)
            .map(|m| {
                let v = half.get(m.unsigned_abs()).copied().unwrap_or(0.0);
                if m % 2 == 0 { v } else { -v }
            })
            .collect()
    };
    (full(&f.high), full(&f.low))
}

/// Index of the symmetric extension of a subband of `len` samples; `whole_left` /
/// `whole_right` say whether the extension at that end repeats the edge sample
/// (half-sample otherwise). `None` for an empty subband.
fn reflect(mut k: isize, len: usize, whole_left: bool, whole_right: bool) -> Option<usize> {
    let n = len as isize;
    if n == 0 {
        return None;
    }
    for _ in 0..64 {
        if k < 0 {
            k = if whole_left { -k } else { -1 - k };
        } else if k >= n {
            k = if whole_right {
                2 * (n - 1) - k
            } else {
                2 * n - 1 - k
            };
        } else {
            return Some(k as usize);
        }
        if n == 1 {
            return Some(0);
        }
    }
    None
}

/// One-dimensional synthesis: `low` (`ceil(n/2)` samples, from the even positions) and
/// `high` (`floor(n/2)`, odd positions) into `out` (`n` samples).
fn synthesise(low: &[f32], high: &[f32], out: &mut [f32], g0: &[f32], g1: &[f32]) {
    let n = out.len();
    let odd = n % 2 == 1;
    let r0 = (g0.len() / 2) as isize;
    let r1 = (g1.len() / 2) as isize;
    for (i, o) in out.iter_mut().enumerate() {
        let i = i as isize;
        let mut s = 0f32;
        // low-pass sample k sits at 2k; tap index i - 2k in -r0..=r0
        let mut k = (i - r0 + 1).div_euclid(2);
        while 2 * k <= i + r0 {
            let tap = g0.get((i - 2 * k + r0) as usize).copied().unwrap_or(0.0);
            if let Some(v) = reflect(k, low.len(), true, odd).and_then(|j| low.get(j)) {
                s += tap * v;
            }
            k += 1;
        }
        // high-pass sample k sits at 2k + 1
        let mut k = (i - r1).div_euclid(2);
        while 2 * k < i + r1 {
            let d = i - 2 * k - 1;
            if (-r1..=r1).contains(&d) {
                let tap = g1.get((d + r1) as usize).copied().unwrap_or(0.0);
                if let Some(v) = reflect(k, high.len(), false, !odd).and_then(|j| high.get(j)) {
                    s += tap * v;
                }
            }
            k += 1;
        }
        *o = s;
    }
}

/// Undoes one analysis step in place: columns first, then rows.
fn inverse_step(
    plane: &mut [f32],
    stride: usize,
    step: &Step,
    g0: &[f32],
    g1: &[f32],
    line: &mut Vec<f32>,
    out: &mut Vec<f32>,
) {
    let r = step.rect;
    // columns
    let low_h = r.h.div_ceil(2);
    let high_h = r.h / 2;
    for x in r.x..r.x + r.w {
        line.clear();
        line.extend((r.y..r.y + r.h).map(|y| plane.get(y * stride + x).copied().unwrap_or(0.0)));
        let (low, high) = if step.flip_y {
            let (h, l) = line.split_at(high_h.min(line.len()));
            (l, h)
        } else {
            line.split_at(low_h.min(line.len()))
        };
        out.clear();
        out.resize(r.h, 0.0);
        synthesise(low, high, out, g0, g1);
        for (y, v) in (r.y..r.y + r.h).zip(out.iter()) {
            if let Some(p) = plane.get_mut(y * stride + x) {
                *p = *v;
            }
        }
    }
    // rows
    let low_w = r.w.div_ceil(2);
    let high_w = r.w / 2;
    for y in r.y..r.y + r.h {
        let start = y * stride + r.x;
        let Some(row) = plane.get_mut(start..start + r.w) else {
            continue;
        };
        line.clear();
        line.extend_from_slice(row);
        let (low, high) = if step.flip_x {
            let (h, l) = line.split_at(high_w.min(line.len()));
            (l, h)
        } else {
            line.split_at(low_w.min(line.len()))
        };
        synthesise(low, high, row, g0, g1);
    }
}

/// Decode a WSQ image. `max_dimension` and `max_pixels` bound the picture before any
/// allocation.
pub fn decode(data: &[u8], max_dimension: u32, max_pixels: u64) -> Result<WsqImage, WsqError> {
    let h = read_headers(data)?;
    let (width, height) = (u32::from(h.frame.width), u32::from(h.frame.height));
    if width == 0 || height == 0 {
        return Err(WsqError::Invalid("frame header (zero width or height)"));
    }
    if width > max_dimension || height > max_dimension || u64::from(width) * u64::from(height) > max_pixels {
        return Err(WsqError::TooLarge { width, height });
    }
    if !h.frame.shift.is_finite() || !h.frame.scale.is_finite() || !h.quant.centre.is_finite() {
        return Err(WsqError::Invalid("frame header or quantisation table value"));
    }
    let (w, hgt) = (width as usize, height as usize);
    let (steps, bands) = layout(w, hgt);
    let mut plane = vec![0f32; w * hgt];
    let mut coefficients = Coefficients {
        data: h.rest.data,
        pos: h.rest.pos,
        bits: 0,
        nbits: 0,
        tables: h.tables,
        table: h.first_table,
        zeros: 0,
        ended: false,
    };
    let centre = h.quant.centre;
    for ((band, q), z) in bands.iter().zip(h.quant.bin.iter()).zip(h.quant.zero_bin.iter()) {
        if *q == 0.0 {
            continue;
        }
        let half_zero = z / 2.0;
        for y in band.y..band.y + band.h {
            let start = y * w + band.x;
            let row = plane
                .get_mut(start..start + band.w)
                .ok_or(WsqError::Invalid("subband layout"))?;
            for p in row.iter_mut() {
                let v = coefficients.next()?;
                *p = match v {
                    0 => 0.0,
                    v if v > 0 => q * (v as f32 - centre) + half_zero,
                    v => q * (v as f32 + centre) - half_zero,
                };
            }
        }
    }
    let (g0, g1) = synthesis(&h.filters);
    let mut line = Vec::with_capacity(w.max(hgt));
    let mut out = Vec::with_capacity(w.max(hgt));
    for step in steps.iter().rev() {
        inverse_step(&mut plane, w, step, &g0, &g1, &mut line, &mut out);
    }
    let (m, r) = (h.frame.shift, h.frame.scale);
    let pixels = plane
        .iter()
        .map(|v| {
            let p = (v * r + m + 0.5).floor();
            p.clamp(0.0, 255.0) as u8
        })
        .collect();
    Ok(WsqImage {
        frame: h.frame,
        width,
        height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    const RIDGES: &[u8] = include_bytes!("../../test-vectors/wsq/synth_ridges_075.wsq");
    const NOISE: &[u8] = include_bytes!("../../test-vectors/wsq/synth_noise_225.wsq");
    const FINGER: &[u8] = include_bytes!("../../test-vectors/wsq/bsi2008_finger1.wsq");

    #[test]
    fn frame_header_of_the_bsi_specimen_finger() {
        let f = frame_header(FINGER).unwrap();
        assert_eq!((f.width, f.height, f.black, f.white), (620, 620, 0, 255));
        let img = decode(FINGER, 16_384, 40_000_000).unwrap();
        assert_eq!((img.width, img.height, img.pixels.len()), (620, 620, 620 * 620));
        assert_eq!(img.frame, f);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        // everything but the final EOI marker (which is not needed to decode)
        for n in 0..NOISE.len() - 2 {
            assert!(decode(&NOISE[..n], 16_384, 40_000_000).is_err(), "{n} bytes");
        }
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let mut data = NOISE.to_vec();
        for i in (0..data.len()).step_by(3) {
            let keep = data[i];
            data[i] ^= 0x5A;
            let _ = decode(&data, 2048, 1_000_000);
            data[i] = keep;
        }
    }

    fn with_frame(width: u16, height: u16) -> Vec<u8> {
        let mut d = RIDGES.to_vec();
        let at = d.windows(2).position(|w| w == [0xFF, SOF]).unwrap();
        d[at + 6..at + 8].copy_from_slice(&height.to_be_bytes());
        d[at + 8..at + 10].copy_from_slice(&width.to_be_bytes());
        d
    }

    #[test]
    fn picture_size_is_bounded_before_allocation() {
        let d = with_frame(65_535, 65_535);
        assert_eq!(
            decode(&d, 16_384, 40_000_000),
            Err(WsqError::TooLarge {
                width: 65_535,
                height: 65_535
            })
        );
        assert!(matches!(
            decode(&with_frame(0, 10), 16_384, 40_000_000),
            Err(WsqError::Invalid(_))
        ));
        // a larger frame than the data fills: the coefficients run out
        assert!(matches!(
            decode(&with_frame(3000, 3000), 16_384, 40_000_000),
            Err(WsqError::Truncated(_))
        ));
    }

    #[test]
    fn huffman_tables_are_checked() {
        // 3 codes of length 1 cannot exist
        let mut counts = vec![0u8; 17];
        counts[1] = 3;
        counts.extend([1, 2, 3]);
        let mut tables: [Option<Huffman>; MAX_HUFFMAN_TABLES] = Default::default();
        let body = Bytes {
            data: &counts,
            pos: 0,
        };
        assert!(matches!(
            read_huffman_tables(body, &mut tables),
            Err(WsqError::Invalid(_))
        ));
        // table identifier out of range
        let mut t = vec![9u8];
        t.extend([1u8].iter().chain([0u8; 15].iter()));
        t.push(7);
        let body = Bytes { data: &t, pos: 0 };
        assert!(matches!(
            read_huffman_tables(body, &mut tables),
            Err(WsqError::Invalid(_))
        ));
        // the values promised by the counts must be present
        let mut t = vec![0u8, 0, 4];
        t.extend([0u8; 14]);
        t.push(1);
        let body = Bytes { data: &t, pos: 0 };
        assert!(matches!(
            read_huffman_tables(body, &mut tables),
            Err(WsqError::Truncated(_))
        ));
    }

    #[test]
    fn transform_table_lengths_are_checked() {
        let long = [40u8, 7];
        assert!(read_filters(Bytes { data: &long, pos: 0 }).is_err());
        let even = [8u8, 7];
        assert_eq!(
            read_filters(Bytes { data: &even, pos: 0 }),
            Err(WsqError::Unsupported("even-length transform filters"))
        );
    }

    #[test]
    fn missing_tables_are_named() {
        // SOI, SOF, SOB with no transform or quantisation table
        let d = [
            0xFF, 0xA0, 0xFF, 0xA2, 0, 17, 0, 255, 0, 8, 0, 8, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0xFF, 0xA3, 0, 3, 0,
        ];
        assert_eq!(decode(&d, 100, 10_000), Err(WsqError::Missing("transform table")));
    }

    /// Forward analysis of one line with the specification's 9/7 filters (low-pass
    /// samples at even positions, high-pass at odd, whole-sample symmetric extension).
    fn analyse(x: &[f32], h0: &[f32], h1: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = x.len() as isize;
        let at = |mut i: isize| {
            for _ in 0..64 {
                if i < 0 {
                    i = -i;
                } else if i >= n {
                    i = 2 * (n - 1) - i;
                } else {
                    break;
                }
            }
            x[i.clamp(0, n - 1) as usize]
        };
        let tap = |h: &[f32], m: isize| h[m.unsigned_abs()];
        let (r0, r1) = (h0.len() as isize - 1, h1.len() as isize - 1);
        let low = (0..(n + 1) / 2)
            .map(|k| (-r0..=r0).map(|m| tap(h0, m) * at(2 * k + m)).sum())
            .collect();
        let high = (0..n / 2)
            .map(|k| (-r1..=r1).map(|m| tap(h1, m) * at(2 * k + 1 + m)).sum())
            .collect();
        (low, high)
    }

    #[test]
    fn synthesis_inverts_analysis_for_odd_and_even_lengths() {
        let filters = Filters {
            low: vec![
                0.852_698_7,
                0.377_402_85,
                -0.110_624_4,
                -0.023_849_465,
                0.037_828_455,
            ],
            high: vec![0.788_485_6, -0.418_092_27, -0.040_689_42, 0.064_538_88],
        };
        let (g0, g1) = synthesis(&filters);
        for n in [1usize, 2, 3, 5, 8, 9, 16, 31, 64, 377] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 37 + 11) % 97) as f32 - 48.0).collect();
            let (low, high) = analyse(&x, &filters.low, &filters.high);
            let mut out = vec![0f32; n];
            synthesise(&low, &high, &mut out, &g0, &g1);
            if n >= 9 {
                for (a, b) in x.iter().zip(&out) {
                    assert!((a - b).abs() < 1e-3, "length {n}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn layout_covers_the_picture_once() {
        for (w, h) in [(620usize, 620usize), (377, 411), (67, 53), (9, 7)] {
            let (_, bands) = layout(w, h);
            let mut hits = vec![0u8; w * h];
            for b in bands {
                for y in b.y..b.y + b.h {
                    for x in b.x..b.x + b.w {
                        hits[y * w + x] += 1;
                    }
                }
            }
            assert!(hits.iter().all(|c| *c == 1), "{w}x{h}");
        }
    }
}
