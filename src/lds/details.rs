//! The "additional details" data groups, EF.DG11 (person) and EF.DG12 (document), as
//! one decoder and one encoder driven by a table of fields.
//!
//! Both files are a template (`6B`, `6C`) holding a tag list (`5C`) and optional data
//! objects, each of one of four kinds: UTF-8 text, bytes (an image), a date (ASCII
//! digits, or packed BCD on some chips) and a counted list of names inside a template
//! (`A0 { 02 count, item … }`). A data group is its struct, its [`Field`] table in
//! Doc 9303 order, and the [`Details`] impl that names them; decoding, encoding, the
//! tag list and its checks are here once.

use super::error::LdsError;
use super::quirk::{self, DateField, Quirk, RawDo};
use super::view::{self, Node};

/// Tag of the tag list every details data group starts with.
pub(crate) const TAG_LIST: u32 = 0x5C;
/// Tag of the count inside a template of names.
const TAG_COUNT: u32 = 0x02;

/// A field of a details data group, mutably (what decoding fills).
pub(crate) enum Slot<'a> {
    /// UTF-8 text.
    Text(&'a mut Option<String>),
    /// Bytes kept as they are (an image).
    Bytes(&'a mut Option<Vec<u8>>),
    /// A date of this many ASCII digits (or their BCD form).
    Date(&'a mut Option<DateField>, usize),
    /// Names inside a counted template.
    Items(&'a mut Vec<String>),
}

/// A field of a details data group, read only (what encoding and the tag list use).
pub(crate) enum View<'a> {
    /// UTF-8 text.
    Text(&'a Option<String>),
    /// Bytes.
    Bytes(&'a Option<Vec<u8>>),
    /// A date, written back as it was read.
    Date(&'a Option<DateField>),
    /// Names inside a counted template.
    Items(&'a [String]),
}

/// One row of a data group's field table.
pub(crate) struct Field<T> {
    /// The field's tag (for a list of names, the tag of one name).
    pub tag: u32,
    /// For a list of names, the template that holds them.
    pub template: Option<u32>,
    /// The field, to fill.
    pub slot: fn(&mut T) -> Slot<'_>,
    /// The field, to read.
    pub view: fn(&T) -> View<'_>,
    /// What `inspect` calls it (for a list of names: one of them).
    pub label: &'static str,
    /// How `inspect` shows a text field.
    pub show: Show,
}

/// How `inspect` shows a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Show {
    /// As it is (`(empty)` when empty).
    Plain,
    /// Its `<`-separated parts, joined by ` / `.
    Parts,
    /// A name: primary and secondary identifiers below it.
    Name,
}

/// A row of a field table: `field!(tag, Text, name, "label")` (optionally with a
/// [`Show`] after the label: `Parts`, `Name`), `field!(tag, Bytes, name, "label")`,
/// `field!(tag, Date(digits), name, "label")` or `field!(tag, Items(template), name,
/// "label")` (a list of names, each shown as a name).
macro_rules! field {
    ($tag:expr, Items($template:expr), $name:ident, $label:literal) => {
        $crate::lds::details::Field {
            tag: $tag,
            template: Some($template),
            slot: |d| $crate::lds::details::Slot::Items(&mut d.$name),
            view: |d| $crate::lds::details::View::Items(&d.$name),
            label: $label,
            show: $crate::lds::details::Show::Name,
        }
    };
    ($tag:expr, Date($digits:expr), $name:ident, $label:literal) => {
        $crate::lds::details::Field {
            tag: $tag,
            template: None,
            slot: |d| $crate::lds::details::Slot::Date(&mut d.$name, $digits),
            view: |d| $crate::lds::details::View::Date(&d.$name),
            label: $label,
            show: $crate::lds::details::Show::Plain,
        }
    };
    ($tag:expr, $kind:ident, $name:ident, $label:literal $(, $show:ident)?) => {
        $crate::lds::details::Field {
            tag: $tag,
            template: None,
            slot: |d| $crate::lds::details::Slot::$kind(&mut d.$name),
            view: |d| $crate::lds::details::View::$kind(&d.$name),
            label: $label,
            show: $crate::lds::details::field!(@show $($show)?),
        }
    };
    (@show) => {
        $crate::lds::details::Show::Plain
    };
    (@show $show:ident) => {
        $crate::lds::details::Show::$show
    };
}
pub(crate) use field;

/// A details data group from its own fields (in JSON order) and a `FIELDS` table: the
/// struct with the fields every such group has around its own (`tag_list` first;
/// `unknown`, `quirks` and `raw` last), the [`Details`] impl, a [`std::fmt::Debug`] that
/// shows only which tags are present (the values are personal data), and `decode`,
/// `present_tags`, `update_tag_list` and `encode`.
macro_rules! details_group {
    (
        $(#[$meta:meta])*
        $ty:ident, $file:literal, $tag:literal {
            $($(#[$field_meta:meta])* $field:ident: $field_ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq, Eq, serde::Serialize)]
        pub struct $ty {
            /// The tag list (`5C`) as found; `None` when absent.
            #[serde(serialize_with = "crate::lds::details::serialize_opt_tags")]
            pub tag_list: Option<Vec<u32>>,
            $($(#[$field_meta])* pub $field: $field_ty,)*
            /// Data objects of unknown tags, kept raw.
            pub unknown: Vec<$crate::lds::quirk::RawDo>,
            /// Tolerated deviations.
            pub quirks: Vec<$crate::lds::quirk::Quirk>,
            /// The file's bytes.
            #[serde(skip)]
            pub raw: Vec<u8>,
        }

        impl $crate::lds::details::Details for $ty {
            const FILE: &'static str = $file;
            const TAG: u32 = $tag;
            const FIELDS: &'static [$crate::lds::details::Field<Self>] = FIELDS;
            fn tag_list(&mut self) -> &mut Option<Vec<u32>> {
                &mut self.tag_list
            }
            fn unknown(&mut self) -> &mut Vec<$crate::lds::quirk::RawDo> {
                &mut self.unknown
            }
            fn finish(&mut self, quirks: Vec<$crate::lds::quirk::Quirk>, raw: Vec<u8>) {
                self.quirks = quirks;
                self.raw = raw;
            }
        }

        $crate::lds::quirk::summary_debug!($ty, |d| {
            present: d
                .present_tags()
                .iter()
                .map(|t| format!("{t:02X}"))
                .collect::<Vec<String>>(),
            quirks: d.quirks,
        });

        impl $ty {
            #[doc = concat!("Decode EF.", $file, ".")]
            pub fn decode(input: &[u8]) -> Result<$ty, $crate::lds::LdsError> {
                $crate::lds::details::decode(input)
            }

            /// The tags of the fields present, in Doc 9303 order (a list of names as
            /// the tag of one name).
            pub fn present_tags(&self) -> Vec<u32> {
                $crate::lds::details::present_tags(self)
            }

            /// Set the tag list to the fields present (call before `encode` on a value
            /// built field by field).
            pub fn update_tag_list(&mut self) {
                self.tag_list = Some(self.present_tags());
            }

            /// Encode: the tag list as stored (if any), the fields in Doc 9303 order,
            /// then unknown data objects. Dates are written in the encoding they were
            /// read in (or built).
            pub fn encode(&self) -> Vec<u8> {
                $crate::lds::details::encode(self, self.tag_list.as_ref(), &self.unknown)
            }
        }

        impl $crate::lds::group::DataGroup for $ty {
            fn decode_file(_: $crate::lds::LdsFile, bytes: &[u8]) -> Result<Self, $crate::lds::LdsError> {
                $ty::decode(bytes)
            }
            fn encode(&self) -> Result<Vec<u8>, $crate::lds::LdsError> {
                Ok($ty::encode(self))
            }
            fn quirks(&self) -> std::borrow::Cow<'_, [$crate::lds::quirk::Quirk]> {
                std::borrow::Cow::Borrowed(&self.quirks)
            }
            fn view(&self) -> Vec<$crate::lds::view::Node> {
                $crate::lds::details::view(self, self.tag_list.as_deref(), &self.unknown)
            }
            fn json(&self) -> impl serde::Serialize + '_ {
                self
            }
        }
    };
}
pub(crate) use details_group;

/// A details data group: its file, its template tag, its field table, and the parts
/// every such group has (tag list, unknown data objects, quirks, raw bytes).
pub(crate) trait Details: Default + 'static {
    /// The file's name in messages.
    const FILE: &'static str;
    /// The outer template's tag.
    const TAG: u32;
    /// The fields in Doc 9303 order (the order of encoding and of the tag list).
    const FIELDS: &'static [Field<Self>];
    /// The tag list as found.
    fn tag_list(&mut self) -> &mut Option<Vec<u32>>;
    /// Data objects of unknown tags.
    fn unknown(&mut self) -> &mut Vec<RawDo>;
    /// Store the deviations found and the file's bytes.
    fn finish(&mut self, quirks: Vec<Quirk>, raw: Vec<u8>);
}

/// Decode a details data group.
pub(crate) fn decode<T: Details>(input: &[u8]) -> Result<T, LdsError> {
    let mut quirks = Vec::new();
    let outer = quirk::open_outer(input, T::FILE, T::TAG, &mut quirks)?;
    let mut d = T::default();
    let mut seen_template = false;
    for kid in quirk::children(&outer, T::FILE, &mut quirks)? {
        let (tag, v) = (kid.tag, kid.value);
        if tag == TAG_LIST {
            read_tag_list(d.tag_list(), v, T::FILE, &mut quirks)?;
            continue;
        }
        let Some(field) = T::FIELDS.iter().find(|f| f.tag == tag || f.template == Some(tag)) else {
            quirks.push(Quirk::UnknownTag { tag });
            d.unknown().push(RawDo::from_tlv(&kid));
            continue;
        };
        match (field.slot)(&mut d) {
            Slot::Text(slot) if slot.is_none() => *slot = Some(quirk::decode_text(tag, v, &mut quirks)),
            Slot::Bytes(slot) if slot.is_none() => {
                if v.is_empty() {
                    quirks.push(Quirk::EmptyField { tag });
                }
                *slot = Some(v.to_vec());
            }
            Slot::Date(slot, digits) if slot.is_none() => {
                *slot = Some(DateField::decode(tag, v, digits, &mut quirks));
            }
            Slot::Text(_) | Slot::Bytes(_) | Slot::Date(..) => quirks.push(Quirk::DuplicateTag { tag }),
            Slot::Items(items) => {
                seen_template = true;
                if tag == field.tag {
                    // a name outside its template
                    quirks.push(Quirk::MissingTemplate {
                        tag,
                        template: field.template.unwrap_or(tag),
                    });
                    items.push(quirk::decode_text(tag, v, &mut quirks));
                } else {
                    read_counted_template(&kid, field.tag, T::FILE, items, &mut quirks)?;
                }
            }
        }
    }
    let mut present = present_tags(&d);
    let names = T::FIELDS.iter().find(|f| f.template.is_some());
    if let Some(names) = names
        && seen_template
        && !present.contains(&names.tag)
    {
        // a template with no names still counts as present
        present.push(names.tag);
    }
    match d.tag_list() {
        None => quirks.push(Quirk::MissingTagList),
        Some(list) => {
            // some issuers list the template, others the name tag
            let listed: Vec<u32> = list
                .iter()
                .map(|t| match names {
                    Some(n) if n.template == Some(*t) => n.tag,
                    _ => *t,
                })
                .collect();
            quirks.extend(quirk::tag_list_quirk(&listed, &present));
        }
    }
    d.finish(quirks, input.to_vec());
    Ok(d)
}

/// The tags of the fields present, in table order (a list of names as its name tag).
pub(crate) fn present_tags<T: Details>(d: &T) -> Vec<u32> {
    T::FIELDS
        .iter()
        .filter(|f| match (f.view)(d) {
            View::Text(v) => v.is_some(),
            View::Bytes(v) => v.is_some(),
            View::Date(v) => v.is_some(),
            View::Items(v) => !v.is_empty(),
        })
        .map(|f| f.tag)
        .collect()
}

/// Encode: the tag list as stored (if any), the fields in table order, then unknown
/// data objects. Dates are written in the encoding they were read in (or built).
pub(crate) fn encode<T: Details>(d: &T, tag_list: Option<&Vec<u32>>, unknown: &[RawDo]) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(list) = tag_list {
        crate::tlv::encode_into(TAG_LIST, &quirk::encode_tag_list(list), &mut b);
    }
    for f in T::FIELDS {
        match (f.view)(d) {
            View::Text(Some(s)) => crate::tlv::encode_into(f.tag, s.as_bytes(), &mut b),
            View::Bytes(Some(v)) => crate::tlv::encode_into(f.tag, v, &mut b),
            View::Date(Some(date)) => crate::tlv::encode_into(f.tag, &date.raw, &mut b),
            View::Items(items) if !items.is_empty() => {
                encode_counted_template(f.template.unwrap_or(f.tag), f.tag, items, &mut b);
            }
            _ => {}
        }
    }
    for u in unknown {
        u.encode_into(&mut b);
    }
    crate::tlv::encode(T::TAG, &b)
}

/// What `inspect` shows: the tag list, each field present in table order as its row
/// says, then the data objects of unknown tags.
pub(crate) fn view<T: Details>(d: &T, tag_list: Option<&[u32]>, unknown: &[RawDo]) -> Vec<Node> {
    let mut n = Vec::new();
    if let Some(t) = tag_list {
        n.push(Node::field("tag list", view::tags(t)));
    }
    for f in T::FIELDS {
        match ((f.view)(d), f.show) {
            (View::Text(Some(v)), Show::Name) => n.push(view::name_node(f.label, v)),
            (View::Text(v), Show::Parts) => view::opt_parts(&mut n, f.label, v),
            (View::Text(v), _) => view::opt(&mut n, f.label, v),
            (View::Bytes(Some(b)), _) => n.push(Node::field(f.label, view::bytes_summary(b))),
            (View::Date(v), _) => view::opt_date(&mut n, f.label, v),
            (View::Items(items), _) => n.extend(items.iter().map(|i| view::name_node(f.label, i))),
            (View::Bytes(None), _) => {}
        }
    }
    n.extend(unknown.iter().map(|u| view::unknown(u.tag, &u.value)));
    n
}

/// Read the count (`02`) of a template: an unsigned integer of at most two octets.
pub(crate) fn read_count(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 2 {
        return None;
    }
    Some(value.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
}

/// Encode a count as a DER INTEGER value.
pub(crate) fn encode_count(n: usize) -> Vec<u8> {
    let bytes = (n as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let mut v = bytes.get(skip..).unwrap_or_default().to_vec();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    v
}

/// Read a template of names: `02` count then `item_tag` repeated; count quirks pushed.
fn read_counted_template(
    template: &crate::tlv::Tlv<'_>,
    item_tag: u32,
    file: &'static str,
    items: &mut Vec<String>,
    quirks: &mut Vec<Quirk>,
) -> Result<(), LdsError> {
    let mut declared = None;
    let before = items.len();
    for kid in quirk::children(template, file, quirks)? {
        match kid.tag {
            TAG_COUNT if declared.is_none() => {
                declared = Some(read_count(kid.value).ok_or(LdsError::Invalid {
                    file,
                    what: "count (02) of a template",
                })?);
            }
            t if t == item_tag => items.push(quirk::decode_text(t, kid.value, quirks)),
            t => quirks.push(Quirk::UnknownTag { tag: t }),
        }
    }
    let found = items.len() - before;
    match declared {
        None => quirks.push(Quirk::MissingCount { tag: template.tag }),
        Some(d) if d != found => quirks.push(Quirk::CountMismatch {
            tag: template.tag,
            declared: d,
            found,
        }),
        Some(_) => {}
    }
    Ok(())
}

/// Encode `template { 02 count, item_tag item … }`.
fn encode_counted_template(template: u32, item_tag: u32, items: &[String], out: &mut Vec<u8>) {
    let mut body = Vec::new();
    crate::tlv::encode_into(TAG_COUNT, &encode_count(items.len()), &mut body);
    for i in items {
        crate::tlv::encode_into(item_tag, i.as_bytes(), &mut body);
    }
    crate::tlv::encode_into(template, &body, out);
}

/// Read the tag list `5C` (a second one is a duplicate, kept out).
fn read_tag_list(
    slot: &mut Option<Vec<u32>>,
    value: &[u8],
    file: &'static str,
    quirks: &mut Vec<Quirk>,
) -> Result<(), LdsError> {
    if slot.is_some() {
        quirks.push(Quirk::DuplicateTag { tag: TAG_LIST });
        return Ok(());
    }
    *slot = Some(quirk::parse_tag_list(value).ok_or(LdsError::Invalid {
        file,
        what: "tag list (5C)",
    })?);
    Ok(())
}

pub(crate) fn serialize_opt_tags<S: serde::Serializer>(
    v: &Option<Vec<u32>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => quirk::serialize_tags(t, s),
        None => s.serialize_none(),
    }
}

pub(crate) fn serialize_opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => quirk::serialize_hex(b, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lds::dg11::Dg11;
    use crate::lds::dg12::Dg12;
    use crate::tlv::encode;

    fn dg11(kids: &[Vec<u8>]) -> Vec<u8> {
        encode(0x6B, &kids.concat())
    }

    #[test]
    fn the_quirks_of_names_templates_and_tag_lists() {
        // the tag list names the template A0 (some issuers do), which holds two names
        // but counts three; a name outside any template; a title given twice
        let a0 = encode(
            0xA0,
            &[
                encode(0x02, &[3]),
                encode(0x5F0F, b"A<<B"),
                encode(0x5F0F, b"C<<D"),
            ]
            .concat(),
        );
        let b = dg11(&[
            encode(0x5C, &[0x5F, 0x0F, 0x5F, 0x14]),
            a0,
            encode(0x5F0F, b"E<<F"),
            encode(0x5F14, b"DR"),
            encode(0x5F14, b"PROF"),
        ]);
        let d = Dg11::decode(&b).unwrap();
        assert_eq!(d.other_names, ["A<<B", "C<<D", "E<<F"]);
        assert_eq!(d.title.as_deref(), Some("DR"));
        assert_eq!(
            d.quirks,
            [
                Quirk::CountMismatch {
                    tag: 0xA0,
                    declared: 3,
                    found: 2
                },
                Quirk::MissingTemplate {
                    tag: 0x5F0F,
                    template: 0xA0
                },
                Quirk::DuplicateTag { tag: 0x5F14 },
            ]
        );
        // listing the template instead of the name tag is no mismatch
        let b = dg11(&[
            encode(0x5C, &[0xA0]),
            encode(0xA0, &[encode(0x02, &[1]), encode(0x5F0F, b"A<<B")].concat()),
        ]);
        assert!(Dg11::decode(&b).unwrap().quirks.is_empty());
        // an empty template counts as present; no tag list at all is reported
        let b = dg11(&[encode(0xA0, &encode(0x02, &[0]))]);
        assert_eq!(Dg11::decode(&b).unwrap().quirks, [Quirk::MissingTagList]);
    }

    #[test]
    fn dates_and_images_of_dg12() {
        // BCD date of issue, an empty front image, a count of more than two octets
        let b = encode(
            0x6C,
            &[
                encode(0x5C, &[0x5F, 0x26, 0x5F, 0x1D]),
                encode(0x5F26, &[0x20, 0x24, 0x01, 0x31]),
                encode(0x5F1D, &[]),
            ]
            .concat(),
        );
        let d = Dg12::decode(&b).unwrap();
        assert_eq!(
            d.date_of_issue.as_ref().map(|x| x.text.as_str()),
            Some("20240131")
        );
        assert_eq!(d.front_image.as_deref(), Some(&[][..]));
        assert_eq!(
            d.quirks,
            [Quirk::BcdDate { tag: 0x5F26 }, Quirk::EmptyField { tag: 0x5F1D }]
        );
        assert_eq!(d.encode(), b);
        let bad = encode(0x6C, &encode(0xA0, &encode(0x02, &[1, 2, 3])));
        assert!(Dg12::decode(&bad).is_err());
    }

    #[test]
    fn count_encoding() {
        assert_eq!(encode_count(1), vec![1]);
        assert_eq!(encode_count(0), vec![0]);
        assert_eq!(encode_count(200), vec![0, 200]);
        assert_eq!(read_count(&[0, 200]), Some(200));
        assert_eq!(read_count(&[]), None);
        assert_eq!(read_count(&[1, 2, 3]), None);
    }
}
