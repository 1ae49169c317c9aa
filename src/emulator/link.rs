//! A timing model of the contactless link, so desk reading time can be estimated
//! without hardware: bytes on the air at the link's bit rate, a fixed cost per APDU
//! exchange (reader, PC/SC stack, chip turnaround), and the chip's public-key work.

use super::profile::LinkConfig;

/// Accumulates modelled time.
#[derive(Debug, Clone, Default)]
pub struct LinkModel {
    config: LinkConfig,
    /// Total modelled time, ms.
    pub total_ms: f64,
    /// Bytes-on-air and chip crypto time only (no per-APDU overhead), ms.
    pub airtime_floor_ms: f64,
    /// APDU exchanges counted.
    pub exchanges: usize,
}

/// Public-key work the chip did for one command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChipWork {
    /// Elliptic-curve or DH scalar multiplications/exponentiations.
    pub scalar_ops: u32,
    /// RSA private-key operations.
    pub rsa_signs: u32,
}

impl LinkModel {
    /// A model with the given constants.
    pub fn new(config: LinkConfig) -> Self {
        LinkModel {
            config,
            ..Default::default()
        }
    }

    /// Account for one exchange; returns its modelled duration in ms.
    pub fn exchange(&mut self, command_len: usize, response_len: usize, work: ChipWork) -> f64 {
        let bytes = (command_len + response_len) as f64;
        let air = if self.config.kbit_s > 0.0 {
            bytes * self.config.bits_per_byte / self.config.kbit_s
        } else {
            0.0
        };
        let crypto = f64::from(work.scalar_ops) * self.config.scalar_op_ms
            + f64::from(work.rsa_signs) * self.config.rsa_sign_ms;
        let total = air + crypto + self.config.per_apdu_ms;
        self.total_ms += total;
        self.airtime_floor_ms += air + crypto;
        self.exchanges += 1;
        total
    }

    /// Whether the emulator should sleep for the modelled time.
    pub fn realtime(&self) -> bool {
        self.config.realtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_of_the_benchmark_issue() {
        let mut m = LinkModel::new(LinkConfig::default());
        // 424 bytes on the air at 424 kbit/s with 10 bit-times per byte = 10 ms
        let t = m.exchange(212, 212, ChipWork::default());
        assert!((t - 14.0).abs() < 1e-9);
        assert!((m.airtime_floor_ms - 10.0).abs() < 1e-9);
        m.exchange(
            0,
            0,
            ChipWork {
                scalar_ops: 2,
                rsa_signs: 1,
            },
        );
        assert!((m.airtime_floor_ms - 330.0).abs() < 1e-9);
        assert!((m.total_ms - 338.0).abs() < 1e-9);
    }
}
