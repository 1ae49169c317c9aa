//! ISO/IEC 9797-1 padding method 2 (Doc 9303 Part 11 §9.8.6): append `80`, then `00`
//! bytes up to a multiple of the block size. Always adds at least one byte.

use super::CryptoError;

/// Pad `data` to a multiple of `block` bytes (method 2).
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let block = block.max(1);
    let padded_len = (data.len() / block + 1) * block;
    let mut out = Vec::with_capacity(padded_len);
    out.extend_from_slice(data);
    out.push(0x80);
    out.resize(padded_len, 0);
    out
}

/// Remove method-2 padding from `data`, a whole number of `block`-byte blocks.
///
/// Errors when the length is not a positive multiple of the block size, when the last
/// non-zero byte is not `80`, or when the padding is longer than one block.
pub fn unpad(data: &[u8], block: usize) -> Result<&[u8], CryptoError> {
    let block = block.max(1);
    if data.is_empty() || !data.len().is_multiple_of(block) {
        return Err(CryptoError::BadPadding);
    }
    let zeros = data.iter().rev().take_while(|b| **b == 0).count();
    let marker_at = data.len().checked_sub(zeros + 1).ok_or(CryptoError::BadPadding)?;
    if data.get(marker_at) != Some(&0x80) || zeros + 1 > block {
        return Err(CryptoError::BadPadding);
    }
    data.get(..marker_at).ok_or(CryptoError::BadPadding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn appendix_d_header_padding() {
        // Doc 9303 Part 11 D.4: masked header 0CA4020C padded to 0CA4020C80000000
        assert_eq!(
            pad(&[0x0C, 0xA4, 0x02, 0x0C], 8),
            hex::decode("0CA4020C80000000").unwrap()
        );
        assert_eq!(pad(&[], 8), hex::decode("8000000000000000").unwrap());
        assert_eq!(pad(&[1; 8], 8).len(), 16);
        assert_eq!(pad(&[1; 15], 16).len(), 16);
    }

    #[test]
    fn bad_padding_is_rejected() {
        assert_eq!(
            unpad(&hex::decode("0102030480000000").unwrap(), 8).unwrap(),
            &[1, 2, 3, 4]
        );
        assert_eq!(unpad(&[0; 8], 8), Err(CryptoError::BadPadding));
        assert_eq!(
            unpad(&hex::decode("0102030481000000").unwrap(), 8),
            Err(CryptoError::BadPadding)
        );
        assert_eq!(
            unpad(&hex::decode("0102030405060708").unwrap(), 8),
            Err(CryptoError::BadPadding)
        );
        assert_eq!(
            unpad(&hex::decode("01020304800000").unwrap(), 8),
            Err(CryptoError::BadPadding)
        );
        assert_eq!(unpad(&[], 8), Err(CryptoError::BadPadding));
        // padding spanning more than one block
        let mut long = vec![0x80];
        long.resize(16, 0);
        assert_eq!(unpad(&long, 8), Err(CryptoError::BadPadding));
        assert_eq!(unpad(&long, 16).unwrap(), &[] as &[u8]);
    }

    proptest! {
        #[test]
        fn pad_unpad_roundtrip(data in proptest::collection::vec(any::<u8>(), 0..100), aes in any::<bool>()) {
            let block = if aes { 16 } else { 8 };
            let p = pad(&data, block);
            prop_assert_eq!(p.len() % block, 0);
            prop_assert!(p.len() > data.len() && p.len() <= data.len() + block);
            prop_assert_eq!(unpad(&p, block).unwrap(), data.as_slice());
        }

        #[test]
        fn unpad_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = unpad(&data, 8);
            let _ = unpad(&data, 16);
        }
    }
}
