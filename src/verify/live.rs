//! A live verification (Doc 9303 Part 11 §4–§6): read the chip, run Active and Chip
//! Authentication on the still-open secure channel, then [`super::verify`]. `emrtd
//! verify` and every other front end that reads a chip use this one engine, so what a
//! chip must prove is decided in one place.
//!
//! The reader only reports what it saw. Whether a refused file, a missing key file or
//! a protocol that was not run matters is decided by [`super::verify`] from the signed
//! data (EF.SOD, EF.CardSecurity).

use time::OffsetDateTime;

use super::{Check, ChipOutcome, Input, LiveResults, Report, Status};
use crate::access::password::Password;
use crate::access::{AccessError, aa, ca};
use crate::lds::LdsFile;
use crate::lds::dg14::Dg14;
use crate::lds::security_infos::{CardSecurity, SecurityInfo, SecurityInfos};
use crate::pki::store::TrustStore;
use crate::reader::{Dump, ReadError, ReadFailure, ReadOptions, ReadProgress, Session};
use crate::rng::RandomSource;
use crate::transport::Transport;
use crate::transport::trace::TraceLog;

/// What a live verification is asked to do.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// How to read.
    pub read: ReadOptions,
    /// The time the checks are made for.
    pub at: OffsetDateTime,
    /// Skip Active Authentication (the verdict is then at best INDETERMINATE for a
    /// document that has it).
    pub no_aa: bool,
    /// Skip Chip Authentication (likewise).
    pub no_ca: bool,
    /// The user asked for BAC.
    pub bac_requested: bool,
    /// Where the data comes from, for the report.
    pub source: String,
}

/// A live verification's result: the report, and the files read when the read got as
/// far as producing a dump.
#[derive(Debug)]
pub struct LiveVerification {
    /// The report.
    pub report: Report,
    /// The files read (None when access control itself failed as a verdict).
    pub dump: Option<Dump>,
}

/// Read the chip behind `transport` with `password`, authenticate it, and verify.
///
/// A chip that advertises PACE and then breaks it (other than refusing the password)
/// is a verdict (INVALID), not an operational error. Every other read failure comes
/// back as the [`ReadFailure`] (with the partial dump, when any).
#[allow(clippy::too_many_arguments)]
pub fn read_and_verify<T: Transport>(
    transport: T,
    password: &Password,
    options: &LiveOptions,
    store: Option<&TrustStore>,
    rng: &mut dyn RandomSource,
    progress: &mut dyn ReadProgress,
    trace: Option<TraceLog>,
) -> Result<LiveVerification, ReadFailure> {
    let session = Session::new(
        transport,
        password.clone(),
        options.read.clone(),
        rng,
        trace.clone(),
    );
    let (no_aa, no_ca) = (options.no_aa, options.no_ca);
    let result = session.run_then_eac(progress, |dump, ch, rng, eac_ca| {
        let mut live = LiveResults::default();
        let dg14 = dump
            .files
            .get(&LdsFile::Dg(14))
            .map(|b| Dg14::decode(b).map(SecurityInfos::from));
        if !no_aa && let Some(bytes) = dump.files.get(&LdsFile::Dg(15)) {
            if let Some(t) = &trace {
                t.set_context("Active Authentication");
            }
            live.aa = Some(match crate::lds::dg15::Dg15::decode(bytes) {
                Ok(dg15) => {
                    let info = match &dg14 {
                        Some(Ok(i)) => i.infos.iter().find_map(|x| match x {
                            SecurityInfo::ActiveAuthentication(a) => Some(a.clone()),
                            _ => None,
                        }),
                        _ => None,
                    };
                    let opts = aa::AaOptions {
                        extended_length: dump.manifest.extended_length,
                        ..aa::AaOptions::default()
                    };
                    aa_outcome(aa::authenticate_with(ch, &dg15, info.as_ref(), &opts, rng))
                }
                Err(e) => ChipOutcome {
                    status: Status::Fail,
                    reason: format!("DG15 does not decode, so its key cannot be challenged: {e}"),
                    evidence: serde_json::Value::Null,
                },
            });
        }
        let cam_done = dump.manifest.chip_authentication.is_some();
        if let Some(r) = eac_ca {
            // run during the read, before Terminal Authentication (Extended Access Control)
            live.ca = Some(ca_outcome(r));
        } else if !no_ca
            && !cam_done
            && let Some(infos) = ca_key_source(dump, dg14.as_ref())
        {
            if let Some(t) = &trace {
                t.set_context("Chip Authentication");
            }
            live.ca = Some(ca_outcome(ca::authenticate_and_prove(
                ch,
                &infos,
                &ca::CaConfig::default(),
                rng,
            )));
        }
        live
    });
    let (dump, live) = match result {
        Ok(x) => x,
        Err(failure) => {
            if let ReadError::Access(e) = &failure.error
                && matches!(
                    e,
                    AccessError::Pace(_)
                        | AccessError::BadChipCryptogram { .. }
                        | AccessError::Status { ins: 0x22 | 0x86, .. }
                        | AccessError::BadResponse { ins: 0x86, .. }
                )
            {
                return Ok(LiveVerification {
                    report: access_failure_report(&failure.error, &options.source, options.at),
                    dump: None,
                });
            }
            return Err(failure);
        }
    };
    let report = super::verify(&Input {
        dump: &dump,
        store,
        at: options.at,
        password: Some(password),
        live: Some(live),
        no_aa: options.no_aa,
        no_ca: options.no_ca,
        bac_requested: options.bac_requested,
        source: options.source.clone(),
    });
    Ok(LiveVerification {
        report,
        dump: Some(dump),
    })
}

/// The SecurityInfos to run Chip Authentication with: DG14's when it holds a CA key,
/// else EF.CardSecurity's (chips that publish the key only there).
fn ca_key_source(
    dump: &Dump,
    dg14: Option<&Result<SecurityInfos, crate::lds::security_infos::SecurityInfosError>>,
) -> Option<SecurityInfos> {
    let has_key = |i: &SecurityInfos| {
        i.infos
            .iter()
            .any(|x| matches!(x, SecurityInfo::ChipAuthenticationPublicKey(_)))
    };
    if let Some(Ok(i)) = dg14
        && has_key(i)
    {
        return Some(i.clone());
    }
    let cs = dump.files.get(&LdsFile::CardSecurity)?;
    CardSecurity::decode(cs)
        .ok()
        .map(|c| c.security_infos)
        .filter(has_key)
}

fn access_failure_report(error: &ReadError, source: &str, at: OffsetDateTime) -> Report {
    let check = Check::fail(
        "access",
        format!(
            "the chip does not complete the access protocol it advertises: {:#}",
            anyhow::Error::msg(crate::error::text(error))
        ),
    )
    .reference("Doc 9303 Part 11 §4");
    let checks = vec![check];
    let (verdict, because) = super::report::decide(&checks, &["access"]);
    Report {
        schema: super::report::REPORT_SCHEMA,
        verdict,
        because,
        document: Default::default(),
        checks,
        chip: serde_json::Value::Null,
        timing: serde_json::Value::Null,
        source: source.to_string(),
        at: super::date_string(at),
        policy: Default::default(),
    }
}

fn aa_outcome(r: Result<aa::AaEvidence, aa::AaError>) -> ChipOutcome {
    match r {
        Ok(ev) => ChipOutcome {
            status: Status::Pass,
            reason: format!(
                "the chip signed a fresh challenge with the DG15 key ({:?})",
                ev.algorithm
            ),
            evidence: serde_json::to_value(&ev).unwrap_or_default(),
        },
        Err(e) => {
            use aa::AaError as E;
            let fail = e.is_verification_failure()
                || matches!(e, E::NotSupported { .. } | E::Status { .. } | E::EmptySignature);
            refused(
                e,
                fail,
                "the chip does not hold the private key of DG15: a clone or a substituted chip",
            )
        }
    }
}

fn ca_outcome(r: Result<ca::CaEvidence, ca::CaError>) -> ChipOutcome {
    match r {
        Ok(ev) if ev.proven => ChipOutcome {
            status: Status::Pass,
            reason:
                "the chip proved its Chip Authentication key: secure messaging continued under the new keys"
                    .into(),
            evidence: serde_json::to_value(&ev).unwrap_or_default(),
        },
        Ok(ev) => ChipOutcome {
            status: Status::Indeterminate,
            reason: "Chip Authentication ran but was not proven".into(),
            evidence: serde_json::to_value(&ev).unwrap_or_default(),
        },
        Err(e) => {
            use ca::CaError as E;
            let fail = matches!(
                e,
                E::NotProven(_) | E::BadToken | E::Status { .. } | E::BadResponse { .. }
            );
            refused(
                e,
                fail,
                "the chip does not hold the private key of its chip authentication key: a clone",
            )
        }
    }
}

/// The outcome of a chip protocol that ended in `error`: FAIL (the chip was caught,
/// `consequence` says what that means) when `fail`, else INDETERMINATE.
fn refused(
    error: impl std::error::Error + Send + Sync + 'static,
    fail: bool,
    consequence: &str,
) -> ChipOutcome {
    let mut reason = format!("{:#}", anyhow::Error::new(error));
    let status = if fail {
        reason.push_str(" — ");
        reason.push_str(consequence);
        Status::Fail
    } else {
        Status::Indeterminate
    };
    ChipOutcome {
        status,
        reason,
        evidence: serde_json::Value::Null,
    }
}
