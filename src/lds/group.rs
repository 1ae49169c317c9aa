//! One trait for every LDS file, and the registry that says which type decodes which
//! file.
//!
//! A data group is one file: its decoder implements [`DataGroup`] (decode, quirks,
//! the lines `inspect` shows, the JSON `inspect --json` gives, the images it holds),
//! and one line of the `registry!` invocation below names the files it decodes. Nothing else
//! matches on data group numbers: `cli/inspect.rs` asks [`Decoded::decode`],
//! `verify/conformance/lds.rs` asks [`Decoded::quirks`], `lds/extract.rs` asks
//! [`Decoded::images`]. (Like rustls drives every key exchange through one trait.)
//!
//! The security objects are registered like the others: EF.SOD ([`super::sod::Sod`]),
//! EF.CardAccess ([`super::security_infos::SecurityInfos`]), DG14
//! ([`super::dg14::Dg14`]) and
//! EF.CardSecurity ([`super::security_infos::CardSecurity`]). Their views (`sod/view.rs`,
//! `security_infos/view.rs`) show the CMS layer and its certificates with
//! [`super::view::cms`] and [`super::view::x509`]. What `verify` requires of them (the
//! signature, the `lds.content.*` rules of `check` for SecurityInfos warnings, the tag
//! `77` of EF.SOD) stays in `verify`, on their own decoders.

use std::borrow::Cow;

use super::extract::ImageRole;
use super::image::EmbeddedImage;
use super::view::Node;
use super::{LdsError, LdsFile, Quirk};

/// An LDS file's decoded content, as every generic consumer sees it.
pub trait DataGroup: Sized {
    /// Decode `bytes` as `file` (one of the files the registry gives this type; a type
    /// that serves several, like DG2–DG4, is told which).
    fn decode_file(file: LdsFile, bytes: &[u8]) -> Result<Self, LdsError>;

    /// The file's bytes from the decoded value, with DER lengths except in the signed
    /// files, which keep theirs (what the emulator personalises and what the tests
    /// round-trip, for every kind alike). Most types also have an inherent `encode`,
    /// the same bytes, infallible where it cannot fail.
    ///
    /// `decode → encode == input` holds for a file written in DER, with its elements
    /// in the order the encoder writes them and nothing after its outer element; any
    /// other input encodes to that normal form, which decodes to the same value without
    /// the quirks the deviations caused. The order and what is kept, per kind:
    /// - EF.COM, DG1, DG11, DG12, DG15, DG16: the fields present in Doc 9303 order (the
    ///   tag list or count as stored), then the unknown data objects;
    /// - EF.DIR: the application templates (`4F`, `50`, the other data objects), then the
    ///   unknown data objects; EF.ATR/INFO: every data object as read;
    /// - DG2–DG4: the templates in order, ISO/IEC 19794-5 face records re-encoded from
    ///   their fields and unrecognised data blocks as read; other recognised records
    ///   (fingers, irises, ISO/IEC 39794) are not re-encoded (an error);
    /// - DG5–DG7: the count, then each image under the group's image tag;
    /// - DG8–DG10, DG13: the content as read in the outer template;
    /// - EF.CardAccess, DG14: the SecurityInfos in the order read, known ones from their
    ///   fields, unknown ones as read (the SET is not re-sorted: its bytes are hashed);
    /// - EF.SOD, EF.CardSecurity: signed, so the bytes as read (without what followed
    ///   the outer element); an EF.SOD read as a bare ContentInfo comes back in `77`.
    fn encode(&self) -> Result<Vec<u8>, LdsError>;

    /// The tolerated deviations the decoder found, for `inspect` warnings and the
    /// `lds.content.*` checks of `check`. Borrowed where the type keeps them as
    /// [`Quirk`]s; built where it keeps its own (SecurityInfos: its warnings, then those
    /// of its keys and domain parameters).
    fn quirks(&self) -> Cow<'_, [Quirk]>;

    /// The lines `inspect` prints (quirks are printed after them by the caller).
    fn view(&self) -> Vec<Node>;

    /// What `inspect --json` gives as `content`.
    fn json(&self) -> impl serde::Serialize + '_;

    /// The images it holds, in file order, for `inspect --extract` and `read`.
    fn images(&self) -> Vec<ImageRef<'_>> {
        Vec::new()
    }
}

/// An image inside a decoded file.
#[derive(Debug, Clone, Copy)]
pub struct ImageRef<'a> {
    /// What it shows.
    pub role: ImageRole,
    /// Its bytes and offset in the file.
    pub image: &'a EmbeddedImage,
    /// Width and height the record declares, where it declares them (faces).
    pub declared: (Option<u32>, Option<u32>),
}

/// `DataGroup` for the common case: a type with an inherent `decode(&[u8])`, an
/// inherent `encode()` (giving the bytes or a `Result` of them), a `quirks` field and
/// an inherent `nodes()` (the lines `inspect` shows), whose JSON is its own serde form
/// or, with `json = path`, what that function gives.
macro_rules! data_group {
    ($ty:ty) => {
        $crate::lds::group::data_group!($ty, json = $crate::lds::group::as_is);
    };
    ($ty:ty, json = $json:path) => {
        impl $crate::lds::group::DataGroup for $ty {
            fn decode_file(_: $crate::lds::LdsFile, bytes: &[u8]) -> Result<Self, $crate::lds::LdsError> {
                <$ty>::decode(bytes)
            }
            fn encode(&self) -> Result<Vec<u8>, $crate::lds::LdsError> {
                $crate::lds::group::Encoding::into_result(<$ty>::encode(self))
            }
            fn quirks(&self) -> std::borrow::Cow<'_, [$crate::lds::Quirk]> {
                std::borrow::Cow::Borrowed(&self.quirks)
            }
            fn view(&self) -> Vec<$crate::lds::view::Node> {
                self.nodes()
            }
            fn json(&self) -> impl serde::Serialize + '_ {
                $json(self)
            }
        }
    };
}
pub(crate) use data_group;

/// What an inherent `encode` gives, as [`DataGroup::encode`] gives it.
pub(crate) trait Encoding {
    /// The bytes, or why there are none.
    fn into_result(self) -> Result<Vec<u8>, LdsError>;
}

impl Encoding for Vec<u8> {
    fn into_result(self) -> Result<Vec<u8>, LdsError> {
        Ok(self)
    }
}

impl Encoding for Result<Vec<u8>, LdsError> {
    fn into_result(self) -> Result<Vec<u8>, LdsError> {
        self
    }
}

/// A value's JSON is its own serde form.
pub(crate) fn as_is<T: serde::Serialize>(value: &T) -> &T {
    value
}

/// The registry: each line is `Variant(type) for file pattern`. The generated
/// [`Decoded`] is the one place that maps a file to its decoder.
macro_rules! registry {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) for $files:pat, )*) => {
        /// A decoded LDS file of a registered kind.
        #[derive(Debug)]
        #[non_exhaustive]
        #[allow(clippy::large_enum_variant)]
        pub enum Decoded {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl Decoded {
            /// Decode `bytes` as `file`; `None` when no decoder is registered for it.
            pub fn decode(file: LdsFile, bytes: &[u8]) -> Option<Result<Decoded, LdsError>> {
                #[allow(unreachable_patterns)]
                match file {
                    $( $files => Some(<$ty as DataGroup>::decode_file(file, bytes).map(Decoded::$variant)), )*
                    _ => None,
                }
            }

            /// True when a decoder is registered for `file`.
            pub fn registered(file: LdsFile) -> bool {
                #[allow(unreachable_patterns)]
                match file {
                    $( $files => true, )*
                    _ => false,
                }
            }

            /// See [`DataGroup::encode`].
            pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
                match self { $( Decoded::$variant(x) => <$ty as DataGroup>::encode(x), )* }
            }

            /// See [`DataGroup::quirks`].
            pub fn quirks(&self) -> Cow<'_, [Quirk]> {
                match self { $( Decoded::$variant(x) => <$ty as DataGroup>::quirks(x), )* }
            }

            /// See [`DataGroup::view`].
            pub fn view(&self) -> Vec<Node> {
                match self { $( Decoded::$variant(x) => <$ty as DataGroup>::view(x), )* }
            }

            /// See [`DataGroup::images`].
            pub fn images(&self) -> Vec<ImageRef<'_>> {
                match self { $( Decoded::$variant(x) => <$ty as DataGroup>::images(x), )* }
            }
        }

        impl serde::Serialize for Decoded {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $( Decoded::$variant(x) => <$ty as DataGroup>::json(x).serialize(s), )* }
            }
        }
    };
}

registry! {
    /// EF.COM.
    Com(super::com::Com) for LdsFile::Com,
    /// EF.DIR.
    Dir(super::dir::Dir) for LdsFile::Dir,
    /// EF.ATR/INFO.
    AtrInfo(super::atr_info::AtrInfo) for LdsFile::AtrInfo,
    /// DG1, with the MRZ module's check of its MRZ.
    Dg1(super::dg1::Dg1) for LdsFile::Dg(1),
    /// DG2, DG3 or DG4.
    Biometric(super::biometric::BiometricGroup) for LdsFile::Dg(2..=4),
    /// DG5, DG6 or DG7.
    Displayed(super::displayed::DisplayedImages) for LdsFile::Dg(5..=7),
    /// DG8, DG9 or DG10.
    SecurityFeatures(super::features::SecurityFeatures) for LdsFile::Dg(8..=10),
    /// DG11.
    Dg11(super::dg11::Dg11) for LdsFile::Dg(11),
    /// DG12.
    Dg12(super::dg12::Dg12) for LdsFile::Dg(12),
    /// DG13.
    Dg13(super::dg13::Dg13) for LdsFile::Dg(13),
    /// DG14: SecurityInfos in `6E`.
    Dg14(super::dg14::Dg14) for LdsFile::Dg(14),
    /// DG15, with the result of building the OpenSSL key.
    Dg15(super::dg15::Dg15) for LdsFile::Dg(15),
    /// DG16.
    Dg16(super::dg16::Dg16) for LdsFile::Dg(16),
    /// EF.SOD.
    Sod(super::sod::Sod) for LdsFile::Sod,
    /// EF.CardAccess: SecurityInfos.
    SecurityInfos(super::security_infos::SecurityInfos) for LdsFile::CardAccess,
    /// EF.CardSecurity.
    CardSecurity(super::security_infos::CardSecurity) for LdsFile::CardSecurity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lds_file_is_in_the_registry() {
        for f in [
            LdsFile::Com,
            LdsFile::Sod,
            LdsFile::Dir,
            LdsFile::AtrInfo,
            LdsFile::CardAccess,
            LdsFile::CardSecurity,
        ]
        .into_iter()
        .chain((1..=16).map(LdsFile::Dg))
        {
            assert!(Decoded::registered(f), "{f}");
            assert!(Decoded::decode(f, b"").is_some_and(|r| r.is_err()), "{f}");
        }
        assert!(!Decoded::registered(LdsFile::Dg(17)));
    }

    #[test]
    fn the_security_objects_decode_through_the_registry() {
        let dg14 = crate::lds::dg14::Dg14::from(crate::lds::security_infos::SecurityInfos::from_infos(vec![
            crate::lds::security_infos::SecurityInfo::ChipAuthentication(
                crate::lds::security_infos::ChipAuthenticationInfo::new(
                    crate::lds::security_infos::CaProtocol {
                        ecdh: true,
                        cipher: crate::lds::security_infos::CipherSuite::Aes128,
                    },
                    1,
                    None,
                ),
            ),
        ]))
        .encode();
        let Some(Ok(d)) = Decoded::decode(LdsFile::Dg(14), &dg14) else {
            panic!("DG14 does not decode");
        };
        assert!(matches!(d, Decoded::Dg14(_)));
        assert!(
            d.view()
                .iter()
                .any(|n| n.text.starts_with("ChipAuthenticationInfo 1"))
        );
        assert!(d.quirks().is_empty());
        // the same SET without its 6E is EF.CardAccess, not DG14
        let set = dg14.get(2..).unwrap_or_default();
        assert!(Decoded::decode(LdsFile::CardAccess, set).is_some_and(|r| r.is_ok()));
        assert!(Decoded::decode(LdsFile::Dg(14), set).is_some_and(|r| r.is_err()));
        // a SecurityInfos error keeps its message and causes
        let Some(Err(e)) = Decoded::decode(LdsFile::CardSecurity, &[0x30, 0x03, 0x06, 0x01, 0x00]) else {
            panic!("not an EF.CardSecurity");
        };
        assert!(
            e.to_string()
                .starts_with("EF.CardSecurity is not a valid CMS SignedData"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_group_decodes_through_the_registry() {
        let com = hex::decode("60155F0104303130375F36063034303030305C03617563").unwrap_or_default();
        let d = Decoded::decode(LdsFile::Com, &com).and_then(Result::ok);
        let Some(d) = d else {
            panic!("EF.COM does not decode");
        };
        assert!(matches!(d, Decoded::Com(_)));
        assert!(d.view().iter().any(|n| n.text.starts_with("LDS version")));
        assert!(d.images().is_empty());
        assert!(Decoded::decode(LdsFile::Dg(1), &com).is_some_and(|r| r.is_err()));
    }
}
