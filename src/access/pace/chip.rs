//! PACE, chip side, for the emulator (Doc 9303 Part 11 §4.4): a state machine fed with
//! MSE:Set AT and the four chained GENERAL AUTHENTICATE commands, answering with the
//! chip's data objects and status words, and handing out the session keys when the
//! terminal's token verified.
//!
//! Chip randomness (the nonce s, the mapping private key, the ephemeral private key) is
//! drawn from the [`RandomSource`] passed to [`ChipPace::process`], in that order, so the
//! worked examples' chip responses can be reproduced. A token that does not verify is
//! answered 6300; any error sends the chip back to its initial state.

use zeroize::Zeroizing;

use super::apdus::{self, INS_GENERAL_AUTHENTICATE, INS_MSE, tag};
use super::crypto::{self as pace_crypto, cipher_of};
use super::mapping::{self, ChipEnd};
use super::params::{DomainParams, Element, PrivateKey};
use super::select;
use crate::access::Password;
use crate::apdu::{Command, Response, StatusWord};
use crate::crypto::{Cipher, ct_eq};
use crate::lds::security_infos::{Oid, PaceMapping, SecurityInfos};
use crate::rng::RandomSource;
use crate::sm::{SessionKeys, Ssc};

/// What the chip answers to one command.
#[derive(Debug)]
pub struct ChipReply {
    /// The response APDU.
    pub response: Response,
    /// Session keys (SSC 0) once the last GENERAL AUTHENTICATE succeeded.
    pub established: Option<SessionKeys>,
    /// With them: the chip's and the terminal's ephemeral public keys of the key
    /// agreement and whether they are EC points (Terminal Authentication's ID_PICC, and
    /// after PACE-CAM its Comp(PK_PCD)).
    pub ephemeral_keys: Option<PaceEphemeralKeys>,
}

/// The ephemeral public keys of an established PACE run.
#[derive(Debug, Clone)]
pub struct PaceEphemeralKeys {
    /// PK_IC (the chip's).
    pub chip: Vec<u8>,
    /// PK_PCD (the terminal's).
    pub terminal: Vec<u8>,
    /// EC points (else DH values).
    pub ec: bool,
    /// The mapping was PACE-CAM.
    pub cam: bool,
}

impl ChipReply {
    fn sw(sw: StatusWord) -> Self {
        ChipReply {
            response: Response::status(sw),
            established: None,
            ephemeral_keys: None,
        }
    }

    fn data(objects: &[(u32, &[u8])]) -> Self {
        ChipReply {
            response: Response::new(apdus::dynamic_auth_data(objects), StatusWord::OK),
            established: None,
            ephemeral_keys: None,
        }
    }
}

/// What the protocol run shares across steps.
struct Run {
    oid: Oid,
    mapping: PaceMapping,
    cipher: Cipher,
    params: DomainParams,
    k_pi: Zeroizing<Vec<u8>>,
}

enum State {
    Idle,
    Selected(Run),
    NonceSent {
        run: Run,
        s: Zeroizing<Vec<u8>>,
    },
    Mapped {
        run: Run,
        generator: Element,
        /// The chip's mapping private key (generic mapping; PACE-CAM needs it).
        sk_map: Option<PrivateKey>,
    },
    Agreed {
        run: Run,
        keys: SessionKeys,
        pk_ic: Vec<u8>,
        pk_pcd: Vec<u8>,
        sk_map: Option<PrivateKey>,
    },
}

/// The chip's side of PACE.
pub struct ChipPace {
    card_access: SecurityInfos,
    passwords: Vec<Password>,
    cam_key: Option<PrivateKey>,
    state: State,
}

impl std::fmt::Debug for ChipPace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Selected(_) => "selected",
            State::NonceSent { .. } => "nonce sent",
            State::Mapped { .. } => "mapped",
            State::Agreed { .. } => "keys agreed",
        };
        f.debug_struct("ChipPace")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// A failed step: the status word to answer.
type Step<T> = Result<T, StatusWord>;

const WRONG_DATA: StatusWord = StatusWord::WRONG_DATA;

impl ChipPace {
    /// A chip offering the PACEInfos (and PACEDomainParameterInfos) of `card_access`,
    /// accepting the given passwords, with the static Chip Authentication private key
    /// `cam_key` (the scalar SK_IC whose public key is in EF.CardSecurity) for PACE-CAM.
    pub fn new(card_access: SecurityInfos, passwords: Vec<Password>, cam_key: Option<PrivateKey>) -> Self {
        ChipPace {
            card_access,
            passwords,
            cam_key,
            state: State::Idle,
        }
    }

    /// True while a PACE run is in progress (after MSE:Set AT).
    pub fn in_progress(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// Forget any run in progress.
    pub fn reset(&mut self) {
        self.state = State::Idle;
    }

    /// Handle MSE:Set AT (`00 22 C1 A4`) or GENERAL AUTHENTICATE (`x0 86 00 00`); other
    /// commands are answered 6D00.
    pub fn process(&mut self, cmd: &Command, rng: &mut dyn RandomSource) -> ChipReply {
        let result = match (cmd.ins, cmd.p1, cmd.p2) {
            (INS_MSE, 0xC1, 0xA4) => self.mse_set_at(cmd).map(|()| ChipReply::sw(StatusWord::OK)),
            (INS_MSE, _, _) => Err(StatusWord::WRONG_P1P2),
            (INS_GENERAL_AUTHENTICATE, 0, 0) => self.general_authenticate(cmd, rng),
            (INS_GENERAL_AUTHENTICATE, _, _) => Err(StatusWord::WRONG_P1P2),
            _ => Err(StatusWord::INS_NOT_SUPPORTED),
        };
        match result {
            Ok(reply) => reply,
            Err(sw) => {
                self.state = State::Idle;
                ChipReply::sw(sw)
            }
        }
    }

    fn mse_set_at(&mut self, cmd: &Command) -> Step<()> {
        self.state = State::Idle;
        let mse = apdus::parse_mse_set_at(&cmd.data).map_err(|_| WRONG_DATA)?;
        let info = self
            .card_access
            .pace_infos()
            .filter(|i| i.protocol == mse.protocol)
            .find(|i| match mse.parameter_id {
                None => true,
                Some(id) => select::domain_source(&self.card_access, i)
                    .map(|src| match src {
                        select::DomainSource::Standardized(s) => s == id,
                        select::DomainSource::Explicit(d) => d.parameter_id.or(i.parameter_id) == Some(id),
                    })
                    .unwrap_or(false),
            })
            .ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
        let protocol = info.protocol().ok_or(WRONG_DATA)?;
        let source = select::domain_source(&self.card_access, info).map_err(|_| WRONG_DATA)?;
        let params = select::build_params(source).map_err(|_| WRONG_DATA)?;
        if protocol.mapping.is_ec() != params.is_ec() {
            return Err(WRONG_DATA);
        }
        if mapping::of(protocol.mapping).authenticates_chip() && self.cam_key.is_none() {
            return Err(StatusWord::FUNC_NOT_SUPPORTED);
        }
        let password = self
            .passwords
            .iter()
            .find(|p| p.key_reference() == mse.password_ref)
            .ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
        let cipher = cipher_of(protocol.cipher);
        self.state = State::Selected(Run {
            oid: info.protocol,
            mapping: protocol.mapping,
            cipher,
            params,
            k_pi: pace_crypto::k_pi(&password.pace_secret(), cipher),
        });
        Ok(())
    }

    fn general_authenticate(&mut self, cmd: &Command, rng: &mut dyn RandomSource) -> Step<ChipReply> {
        let chained = cmd.cla & 0x10 != 0;
        let objs = apdus::parse_dynamic_auth_data(&cmd.data).map_err(|_| WRONG_DATA)?;
        let get = |t: u32| apdus::find(&objs, t).ok_or(WRONG_DATA);
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => Err(StatusWord::CONDITIONS_NOT_SATISFIED),
            State::Selected(run) => {
                if !chained || !objs.is_empty() {
                    return Err(WRONG_DATA);
                }
                let s = Zeroizing::new(rng.bytes(pace_crypto::nonce_len(run.cipher)));
                let z =
                    pace_crypto::encrypt_nonce(run.cipher, &run.k_pi, &s).map_err(|_| StatusWord::UNKNOWN)?;
                self.state = State::NonceSent { run, s };
                Ok(ChipReply::data(&[(tag::ENCRYPTED_NONCE, &z)]))
            }
            State::NonceSent { run, s } => {
                if !chained {
                    return Err(WRONG_DATA);
                }
                let data = get(tag::MAPPING_PCD)?;
                let mapped = mapping::of(run.mapping).chip_map(
                    mapping::Run {
                        params: &run.params,
                        cipher: run.cipher,
                        s: &s,
                    },
                    data,
                    rng,
                )?;
                let reply = match &mapped.answer {
                    Some(answer) => ChipReply::data(&[(tag::MAPPING_PICC, answer)]),
                    None => ChipReply::data(&[]),
                };
                self.state = State::Mapped {
                    run,
                    generator: mapped.generator,
                    sk_map: mapped.secret,
                };
                Ok(reply)
            }
            State::Mapped {
                run,
                generator,
                sk_map,
            } => {
                if !chained {
                    return Err(WRONG_DATA);
                }
                let pk_pcd = get(tag::EPHEMERAL_PCD)?.to_vec();
                let p = &run.params;
                let peer = p
                    .decode_public(&pk_pcd, "terminal ephemeral key")
                    .map_err(|_| WRONG_DATA)?;
                let sk = p.random_private_key(rng).map_err(|_| StatusWord::UNKNOWN)?;
                let own = p
                    .multiply(&generator, sk.as_bn())
                    .map_err(|_| StatusWord::UNKNOWN)?;
                if p.same(&own, &peer).unwrap_or(true) {
                    return Err(WRONG_DATA);
                }
                let pk_ic = p.encode(&own).map_err(|_| StatusWord::UNKNOWN)?;
                let k = p
                    .agree(&sk, &peer)
                    .and_then(|e| p.shared_secret(&e))
                    .map_err(|_| WRONG_DATA)?;
                let keys = SessionKeys::derive(run.cipher, &k, Ssc::zero(run.cipher))
                    .map_err(|_| StatusWord::UNKNOWN)?;
                let reply = ChipReply::data(&[(tag::EPHEMERAL_PICC, &pk_ic)]);
                self.state = State::Agreed {
                    run,
                    keys,
                    pk_ic,
                    pk_pcd,
                    sk_map,
                };
                Ok(reply)
            }
            State::Agreed {
                run,
                keys,
                pk_ic,
                pk_pcd,
                sk_map,
            } => {
                if chained {
                    return Err(WRONG_DATA);
                }
                let t_pcd = get(tag::TOKEN_PCD)?;
                let key_tag = run.params.public_key_tag();
                let expected = pace_crypto::token(
                    run.cipher,
                    keys.ks_mac(),
                    &apdus::public_key_data_object(&run.oid, key_tag, &pk_ic),
                )
                .map_err(|_| StatusWord::UNKNOWN)?;
                if !ct_eq(t_pcd, &expected) {
                    return Err(StatusWord::AUTH_FAILED);
                }
                let t_picc = pace_crypto::token(
                    run.cipher,
                    keys.ks_mac(),
                    &apdus::public_key_data_object(&run.oid, key_tag, &pk_pcd),
                )
                .map_err(|_| StatusWord::UNKNOWN)?;
                let imp = mapping::of(run.mapping);
                let extra = imp.chip_confirm(ChipEnd {
                    params: &run.params,
                    cipher: run.cipher,
                    keys: &keys,
                    secret: sk_map.as_ref(),
                    chip_key: self.cam_key.as_ref(),
                })?;
                let mut objects: Vec<(u32, &[u8])> = vec![(tag::TOKEN_PICC, &t_picc)];
                if let Some((t, data)) = &extra {
                    objects.push((*t, data));
                }
                let mut reply = ChipReply::data(&objects);
                reply.established = Some(keys);
                reply.ephemeral_keys = Some(PaceEphemeralKeys {
                    chip: pk_ic.clone(),
                    terminal: pk_pcd.clone(),
                    ec: run.params.ec().is_some(),
                    cam: imp.authenticates_chip(),
                });
                Ok(reply)
            }
        }
    }
}
