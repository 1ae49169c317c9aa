//! Access control: BAC and PACE (Doc 9303 Part 11 §4).

pub mod pace;
