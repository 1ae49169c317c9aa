//! RFC 4533 LDAP Content Synchronization, refreshOnly mode, for `pkd sync` from a
//! directory that runs OpenLDAP's `syncprov` overlay with a session log.
//!
//! A desk that holds a cookie from a server asks that server for what changed since it
//! (`Sync Request`, OID 1.3.6.1.4.1.4203.1.9.1.1, critical, with the cookie): the server
//! answers with the entries added or changed since (each with a `Sync State` control
//! naming its `entryUUID`) and the UUIDs of the entries deleted (`Sync Info` syncIdSet
//! with refreshDeletes, or a `Sync State` delete), then `Sync Done` with a new cookie.
//! When its session log does not reach back to the cookie, the server runs a *present*
//! phase instead: the changed entries plus the UUIDs of every unchanged one, and whatever
//! the desk holds that is neither was deleted. Either way the work is proportional to the
//! changes (plus 16 bytes per entry in a present phase), not to a listing of every DN.
//!
//! A server without `syncprov` refuses the critical control (unavailableCriticalExtension),
//! a server whose session log lost the cookie may answer e-syncRefreshRequired (4096), a
//! large change set may hit the server's size limit: each of these is an [`Answer::Refused`]
//! and the caller lists the directory instead (the pkdVersion path, [`super::fetch`]).
//!
//! The cookie is the server's opaque data: it is bounded ([`MAX_COOKIE`]), stored with the
//! server that issued it, and only ever sent back to that server. Every message is read
//! without trusting it (`crate::tlv`, no panics); a malformed one ends the refresh as
//! refused, never half-applied.

use std::collections::HashSet;

use ldap3::asn1::{PL, StructureTag};
use ldap3::controls::{RawControl, RefreshMode, SyncRequest};
use ldap3::{LdapResult, ResultEntry, Scope};

use super::{Client, DirEntry, SyncError, parse_entry, result_name};
use crate::pki::directory::uuid_text;

/// Sync Request control.
pub const SYNC_REQUEST_OID: &str = "1.3.6.1.4.1.4203.1.9.1.1";
/// Sync State control (on each entry of a refresh).
const SYNC_STATE_OID: &str = "1.3.6.1.4.1.4203.1.9.1.2";
/// Sync Done control (on the search result).
const SYNC_DONE_OID: &str = "1.3.6.1.4.1.4203.1.9.1.3";
/// Sync Info intermediate response.
const SYNC_INFO_OID: &str = "1.3.6.1.4.1.4203.1.9.1.4";
/// e-syncRefreshRequired: the server cannot refresh from this cookie.
const SYNC_REFRESH_REQUIRED: u32 = 4096;

/// Largest cookie kept (OpenLDAP's are ~60 bytes per provider of a replicated tree).
pub const MAX_COOKIE: usize = 4096;
/// Most UUIDs one refresh may name (deleted or present): a directory ten times the
/// ICAO PKD's size.
pub const MAX_UUIDS: usize = 5_000_000;

/// A filter that no entry matches, answered from the `entryUUID` equality index: the
/// search whose cookie marks the directory's state before a listing (see
/// [`state_marker`]).
const MARKER_FILTER: &str = "(entryUUID=00000000-0000-0000-0000-000000000000)";

/// What a refresh from a cookie brought.
#[derive(Debug, Clone, Default)]
pub struct Refresh {
    /// Entries added or changed since the cookie (whole entries, each with its UUID).
    pub entries: Vec<DirEntry>,
    /// UUIDs of entries deleted since the cookie (or that no longer match the search).
    pub deleted: HashSet<String>,
    /// When the server ran a present phase: the UUIDs of the unchanged entries. An entry
    /// of the store that is neither here nor among `entries` is gone.
    pub present: Option<HashSet<String>>,
    /// The new cookie, when the server sent one that fits [`MAX_COOKIE`].
    pub cookie: Option<Vec<u8>>,
}

/// The server's answer to a refresh request.
#[derive(Debug)]
pub enum Answer {
    /// The changes since the cookie.
    Refresh(Refresh),
    /// No refresh from this cookie (why): list the directory instead.
    Refused(String),
}

/// The Sync Request control: refreshOnly, critical (a server that does not implement it
/// must refuse rather than answer a plain search of the whole tree).
fn request(cookie: Option<&[u8]>) -> RawControl {
    let mut c: RawControl = SyncRequest {
        mode: RefreshMode::RefreshOnly,
        cookie: cookie.map(<[u8]>::to_vec),
        reload_hint: false,
    }
    .into();
    c.crit = true;
    c
}

/// Ask the server for what changed below `base` (entries matching `filter`) since
/// `cookie`. Network failures are retried by `client`; everything the server declines or
/// sends malformed is an [`Answer::Refused`].
pub(super) fn refresh(
    client: &mut Client<'_>,
    base: &str,
    filter: &str,
    cookie: &[u8],
    tick: &dyn Fn(),
) -> Result<Answer, SyncError> {
    let attrs = ["*", "entryUUID"];
    client.with_retries("refresh from the sync cookie", |conn, timeout| {
        let mut stream = conn
            .with_controls(vec![request(Some(cookie))])
            .with_timeout(timeout)
            .streaming_search(base, Scope::Subtree, filter, attrs.to_vec())?;
        let mut acc = Accumulator::default();
        while let Some(re) = stream.next()? {
            if acc.failed.is_none()
                && let Err(e) = acc.message(re)
            {
                acc.failed = Some(e);
            }
            tick();
        }
        let res = stream.result();
        Ok(Ok(acc.finish(&res)))
    })
}

/// A cookie for the directory's current state, taken before a listing: a refresh
/// without a cookie whose filter matches nothing returns none of the entries but a
/// cookie, and the listing that follows makes the desk hold at least that state. The
/// next run then refreshes from it (changes made during the listing come again, and
/// applying an entry twice changes nothing). `None` when the server does not do content
/// synchronisation.
pub(super) fn state_marker(client: &mut Client<'_>, base: &str) -> Result<Option<Vec<u8>>, SyncError> {
    client.with_retries("read the sync cookie", |conn, timeout| {
        let mut stream = conn
            .with_controls(vec![request(None)])
            .with_timeout(timeout)
            .streaming_search(base, Scope::Subtree, MARKER_FILTER, vec!["1.1"])?;
        while stream.next()?.is_some() {}
        let res = stream.result();
        if res.rc != 0 {
            return Ok(Ok(None));
        }
        Ok(Ok(done_control(&res).ok().and_then(|(cookie, _)| cookie)))
    })
}

#[derive(Default)]
struct Accumulator {
    refresh: Refresh,
    /// A present phase was announced (an entry or a syncIdSet marked present, a
    /// refreshPresent message).
    presenting: bool,
    present: HashSet<String>,
    failed: Option<String>,
}

impl Accumulator {
    fn uuids(&self) -> usize {
        self.refresh.deleted.len() + self.present.len()
    }

    fn message(&mut self, re: ResultEntry) -> Result<(), String> {
        match re.0.id {
            4 => self.entry(re),
            25 => self.info(&re.0),
            // a referral (id 19) is not followed: the PKD tree is in one database
            _ => Ok(()),
        }
    }

    fn entry(&mut self, re: ResultEntry) -> Result<(), String> {
        let state =
            re.1.iter()
                .find(|c| c.1.ctype == SYNC_STATE_OID)
                .ok_or("an entry without a Sync State control")?;
        let (state, uuid) = sync_state(state.1.val.as_deref().unwrap_or_default())?;
        match state {
            // present
            0 => {
                self.presenting = true;
                self.present.insert(uuid);
            }
            // add, modify
            1 | 2 => {
                let mut e = parse_entry(re)?.ok_or("not an entry")?;
                e.uuid = Some(uuid);
                self.refresh.entries.push(e);
            }
            // delete
            3 => {
                self.refresh.deleted.insert(uuid);
            }
            other => return Err(format!("Sync State {other} is not one RFC 4533 defines")),
        }
        if self.uuids() > MAX_UUIDS {
            return Err(format!("more than {MAX_UUIDS} entry UUIDs"));
        }
        Ok(())
    }

    /// An IntermediateResponse (`[APPLICATION 25] SEQUENCE { responseName [0] OPTIONAL,
    /// responseValue [1] OPTIONAL }`) carrying a syncInfoValue.
    fn info(&mut self, t: &StructureTag) -> Result<(), String> {
        let parts = t
            .clone()
            .expect_constructed()
            .ok_or("intermediate response not constructed")?;
        let mut name = None;
        let mut value = None;
        for p in parts {
            match (p.id, p.payload) {
                (0, PL::P(v)) => name = Some(v),
                (1, PL::P(v)) => value = Some(v),
                _ => return Err("malformed intermediate response".into()),
            }
        }
        if name.as_deref() != Some(SYNC_INFO_OID.as_bytes()) {
            // not ours (RFC 4511 lets a server send others): ignored
            return Ok(());
        }
        let value = value.ok_or("Sync Info without a value")?;
        let info = crate::tlv::parse(&value).map_err(|e| format!("Sync Info: {e}"))?;
        match info.tag {
            // newcookie [0] syncCookie
            0x80 => self.cookie(info.value),
            // refreshDelete [1], refreshPresent [2]: { cookie OPTIONAL, refreshDone DEFAULT TRUE }
            0xA1 | 0xA2 => {
                if info.tag == 0xA2 {
                    self.presenting = true;
                }
                for c in info.children() {
                    let c = c.map_err(|e| format!("Sync Info: {e}"))?;
                    if c.tag == 0x04 {
                        self.cookie(c.value);
                    }
                }
            }
            // syncIdSet [3] { cookie OPTIONAL, refreshDeletes DEFAULT FALSE, syncUUIDs SET OF }
            0xA3 => {
                let mut deletes = false;
                let mut uuids = Vec::new();
                for c in info.children() {
                    let c = c.map_err(|e| format!("Sync Info: {e}"))?;
                    match c.tag {
                        0x04 => self.cookie(c.value),
                        0x01 => deletes = c.value.iter().any(|b| *b != 0),
                        0x31 => {
                            for u in c.children() {
                                let u = u.map_err(|e| format!("syncUUIDs: {e}"))?;
                                uuids.push(uuid(u.tag, u.value)?);
                                if self.uuids() + uuids.len() > MAX_UUIDS {
                                    return Err(format!("more than {MAX_UUIDS} entry UUIDs"));
                                }
                            }
                        }
                        other => return Err(format!("syncIdSet: unexpected tag {other:#x}")),
                    }
                }
                if deletes {
                    self.refresh.deleted.extend(uuids);
                } else {
                    self.presenting = true;
                    self.present.extend(uuids);
                }
            }
            other => return Err(format!("Sync Info: unexpected choice {other:#x}")),
        }
        Ok(())
    }

    fn cookie(&mut self, c: &[u8]) {
        self.refresh.cookie = (!c.is_empty() && c.len() <= MAX_COOKIE).then(|| c.to_vec());
    }

    fn finish(mut self, res: &LdapResult) -> Answer {
        if let Some(why) = self.failed {
            return Answer::Refused(format!("malformed answer: {why}"));
        }
        match res.rc {
            0 => {}
            SYNC_REFRESH_REQUIRED => {
                return Answer::Refused(
                    "the server cannot refresh from this cookie (e-syncRefreshRequired)".into(),
                );
            }
            rc => {
                let mut why = format!("{} ({rc})", result_name(rc));
                if !res.text.is_empty() {
                    why.push_str(&format!(": {}", res.text));
                }
                return Answer::Refused(why);
            }
        }
        let refresh_deletes = match done_control(res) {
            Ok((cookie, deletes)) => {
                if let Some(c) = cookie {
                    self.refresh.cookie = Some(c);
                }
                deletes
            }
            Err(why) => return Answer::Refused(format!("malformed answer: {why}")),
        };
        // refreshDeletes FALSE: a present phase, the unchanged entries not named
        // present are gone (RFC 4533 3.3.2)
        if self.presenting || !refresh_deletes {
            self.refresh.present = Some(self.present);
        }
        Answer::Refresh(self.refresh)
    }
}

/// `syncStateValue ::= SEQUENCE { state ENUMERATED, entryUUID syncUUID, cookie OPTIONAL }`.
fn sync_state(v: &[u8]) -> Result<(u8, String), String> {
    let seq = crate::tlv::parse(v).map_err(|e| format!("Sync State: {e}"))?;
    if seq.tag != 0x30 {
        return Err("Sync State is not a SEQUENCE".into());
    }
    let mut r = seq.children();
    let state = r.expect(0x0A).map_err(|e| format!("Sync State: {e}"))?;
    let state = match state.value {
        [s] => *s,
        _ => return Err("Sync State: bad state".into()),
    };
    let u = r.read().map_err(|e| format!("Sync State: {e}"))?;
    Ok((state, uuid(u.tag, u.value)?))
}

fn uuid(tag: u32, v: &[u8]) -> Result<String, String> {
    let b: [u8; 16] = v
        .try_into()
        .ok()
        .filter(|_| tag == 0x04)
        .ok_or("an entry UUID that is not 16 octets")?;
    Ok(uuid_text(&b))
}

/// The Sync Done control of a search result: (cookie, refreshDeletes). No control at
/// all is an error (the server did not do a refresh).
fn done_control(res: &LdapResult) -> Result<(Option<Vec<u8>>, bool), String> {
    let c = res
        .ctrls
        .iter()
        .find(|c| c.1.ctype == SYNC_DONE_OID)
        .ok_or("no Sync Done control")?;
    let v = c.1.val.as_deref().unwrap_or_default();
    let seq = crate::tlv::parse(v).map_err(|e| format!("Sync Done: {e}"))?;
    if seq.tag != 0x30 {
        return Err("Sync Done is not a SEQUENCE".into());
    }
    let mut cookie = None;
    let mut deletes = false;
    for c in seq.children() {
        let c = c.map_err(|e| format!("Sync Done: {e}"))?;
        match c.tag {
            0x04 => cookie = (!c.value.is_empty() && c.value.len() <= MAX_COOKIE).then(|| c.value.to_vec()),
            0x01 => deletes = c.value.iter().any(|b| *b != 0),
            other => return Err(format!("Sync Done: unexpected tag {other:#x}")),
        }
    }
    Ok((cookie, deletes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::asn1::TagClass;
    use ldap3::controls::Control;

    fn intermediate(name: &str, value: Vec<u8>) -> StructureTag {
        let part = |id, v: Vec<u8>| StructureTag {
            class: TagClass::Context,
            id,
            payload: PL::P(v),
        };
        StructureTag {
            class: TagClass::Application,
            id: 25,
            payload: PL::C(vec![part(0, name.as_bytes().to_vec()), part(1, value)]),
        }
    }

    fn done(value: Vec<u8>) -> LdapResult {
        LdapResult {
            rc: 0,
            matched: String::new(),
            text: String::new(),
            refs: Vec::new(),
            ctrls: vec![Control(
                None,
                RawControl {
                    ctype: SYNC_DONE_OID.into(),
                    crit: false,
                    val: Some(value),
                },
            )],
        }
    }

    fn tlv(tag: u32, v: &[u8]) -> Vec<u8> {
        crate::tlv::encode(tag, v)
    }

    #[test]
    fn id_sets_delete_or_present_and_cookies_are_bounded() {
        let u1 = [1u8; 16];
        let u2 = [2u8; 16];
        let set = |deletes: bool, cookie: &[u8]| {
            let mut v = tlv(0x04, cookie);
            if deletes {
                v.extend(tlv(0x01, &[0xFF]));
            }
            v.extend(tlv(0x31, &[tlv(0x04, &u1), tlv(0x04, &u2)].concat()));
            tlv(0xA3, &v)
        };
        let mut acc = Accumulator::default();
        acc.info(&intermediate(SYNC_INFO_OID, set(true, b"rid=000,csn=1")))
            .unwrap();
        assert_eq!(acc.refresh.deleted.len(), 2);
        assert!(acc.refresh.deleted.contains(&uuid_text(&u1)));
        assert_eq!(acc.refresh.cookie.as_deref(), Some(&b"rid=000,csn=1"[..]));
        assert!(!acc.presenting);
        // a cookie over the bound is not kept
        acc.info(&intermediate(
            SYNC_INFO_OID,
            set(false, &vec![b'x'; MAX_COOKIE + 1]),
        ))
        .unwrap();
        assert!(acc.presenting && acc.present.len() == 2);
        assert_eq!(acc.refresh.cookie, None);
        // another intermediate response is ignored; a malformed Sync Info is an error
        acc.info(&intermediate("1.2.3", vec![0xFF])).unwrap();
        for bad in [
            vec![],
            vec![0xA3, 0x05, 0x31, 0x03, 0x04, 0x01, 0x00],
            vec![0xA9, 0x00],
            vec![0xA3, 0x80],
        ] {
            assert!(
                acc.info(&intermediate(SYNC_INFO_OID, bad.clone())).is_err(),
                "{bad:02x?}"
            );
        }
        // Sync Done: refreshDeletes FALSE means a present phase, and an empty one names
        // nothing present (the caller refuses to remove everything)
        let a = Accumulator::default().finish(&done(tlv(0x30, &tlv(0x04, b"c2"))));
        match a {
            Answer::Refresh(r) => {
                assert_eq!(r.present.map(|p| p.len()), Some(0));
                assert_eq!(r.cookie.as_deref(), Some(&b"c2"[..]));
            }
            Answer::Refused(why) => panic!("{why}"),
        }
        let a = Accumulator::default().finish(&done(tlv(0x30, &tlv(0x01, &[0xFF]))));
        assert!(matches!(a, Answer::Refresh(Refresh { present: None, .. })));
        let mut refused = done(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(matches!(
            Accumulator::default().finish(&refused),
            Answer::Refused(_)
        ));
        refused.rc = SYNC_REFRESH_REQUIRED;
        assert!(
            matches!(Accumulator::default().finish(&refused), Answer::Refused(why) if why.contains("e-syncRefreshRequired"))
        );
    }

    #[test]
    fn sync_state_values() {
        // as slapd sends them: SEQUENCE { ENUMERATED add, OCTET STRING uuid }
        let v = hex::decode("3015 0a0101 0410 bf7291668 62c10418b0e8944143820af".replace(' ', "")).unwrap();
        assert_eq!(
            sync_state(&v),
            Ok((1, "bf729166-862c-1041-8b0e-8944143820af".to_owned()))
        );
        for bad in [
            "",
            "3003 0a0101",
            "3006 0a0101 040100",
            "3016 0a020001 0410 00000000000000000000000000000000",
            "0400",
        ] {
            let b = hex::decode(bad.replace(' ', "")).unwrap();
            assert!(sync_state(&b).is_err(), "{bad}");
        }
    }
}
