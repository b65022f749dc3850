//! The enclave's handshake: answer a ClientHello, then check the ClientFinished.

use super::{ephemeral_key, expect_frame, random};
use crate::attestation::AttesterError;
use crate::binding::per_session_report_data;
use crate::codec::Codec;
use crate::config::EnclaveConfig;
use crate::crypto::key_schedule::{HandshakeSecrets, TrafficSecrets};
use crate::crypto::secret::Secret;
use crate::crypto::transcript::Transcript;
use crate::error::Error;
use crate::msgs::{
    ClientFinished, ClientHello, EvidenceField, Extension, ExtensionType, IdentityKeyField, KeyShare, MessageType,
    ServerHello, frame,
};
use crate::record::{Role, Session};
use crate::suite::{BindingMode, CipherSuite, ProtocolVersion};
use crate::time::UnixTime;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;

/// The enclave side's entry point. There is no enclave state before a ClientHello
/// arrives, so this type holds nothing: [`EnclaveHandshake::accept`] answers the hello and
/// returns the first real state, [`AwaitingClientFinished`].
#[derive(Debug)]
pub struct EnclaveHandshake;

/// An enclave waiting for the client's Finished.
pub struct AwaitingClientFinished {
    session_id: u64,
    suite: CipherSuite,
    started: UnixTime,
    timeout: core::time::Duration,
    limits: crate::config::SessionLimits,
    expected_finished: Secret,
    traffic: TrafficSecrets,
    acknowledged: bool,
    /// The client asked for a stream session and this enclave offers them.
    streams: bool,
}

impl core::fmt::Debug for AwaitingClientFinished {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AwaitingClientFinished")
            .field("session_id", &self.session_id)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl EnclaveHandshake {
    /// Answers a ClientHello for a new session `session_id` (chosen by the caller's session
    /// manager, unique among its live sessions). Returns the waiting state and the
    /// ServerHello frame. On error, send the client `Alert { session_id, code:
    /// error.alert_code() }`.
    ///
    /// Randomness drawn, in order: the 32-byte enclave nonce, the 32-byte private key.
    pub fn accept(
        config: &EnclaveConfig,
        session_id: u64,
        client_hello: &[u8],
        rng: &mut dyn rand_core::CryptoRngCore,
        now: UnixTime,
    ) -> Result<(AwaitingClientFinished, Vec<u8>), Error> {
        let frame_in = expect_frame(client_hello, MessageType::ClientHello)?;
        let client_hello_body = frame_in.body;
        let ch = ClientHello::read_exact(client_hello_body, "client hello")?;

        let version = ProtocolVersion::SUPPORTED
            .iter()
            .copied()
            .find(|v| ch.versions.contains(&v.0))
            .ok_or(Error::NoCommonVersion)?;
        let suite = config
            .suites
            .iter()
            .copied()
            .find(|s| ch.suites.contains(&s.code()))
            .ok_or(Error::NoCommonSuite)?;
        let mode = config
            .binding_modes
            .iter()
            .copied()
            .find(|m| ch.binding_modes.contains(&m.code()))
            .ok_or(Error::NoCommonBindingMode)?;
        let group = suite.group();
        let peer_share = ch
            .key_shares
            .iter()
            .find(|k| k.group == group.code())
            .ok_or(Error::MissingKeyShare)?;

        let nonce = random::<32>(rng)?;
        let key = ephemeral_key(config.ephemeral_keys, rng)?;
        let key_public = *key.public();
        let shared = key.agree(peer_share.key).ok_or(Error::BadKeyShare)?;
        let secrets = HandshakeSecrets::new(suite.hash(), &shared);

        let identity = match mode {
            BindingMode::IdentityKey => config.identity.as_deref(),
            BindingMode::PerSession => None,
        };
        let identity_public = identity.map(|c| c.public_key());
        let mut sh = ServerHello {
            session_id,
            version: version.0,
            suite: suite.code(),
            binding_mode: mode.code(),
            nonce,
            key_share: KeyShare {
                group: group.code(),
                key: &key_public,
            },
            identity_key: match (identity, &identity_public) {
                (Some(c), Some(pk)) => IdentityKeyField {
                    scheme: c.scheme().code(),
                    key: pk,
                },
                _ => IdentityKeyField { scheme: 0, key: &[] },
            },
            evidence: EvidenceField {
                platform: 0,
                bytes: &[],
            },
            extensions: Vec::new(),
            signature: &[],
            finished: &[],
        };
        let mut body = Vec::with_capacity(512);
        sh.encode_params(&mut body)?;
        let mut transcript = Transcript::new(suite.hash(), client_hello_body);
        transcript.update(&body);

        // Evidence: fresh and bound to this transcript, or the cached identity evidence;
        // its collateral goes along when the client asked for it.
        let fresh;
        let collateral = match (mode, identity) {
            (BindingMode::IdentityKey, Some(c)) => {
                sh.evidence = EvidenceField {
                    platform: c.platform().0,
                    bytes: c.evidence(),
                };
                c.collateral()
            }
            _ => {
                let attester = config.attester.as_deref().ok_or(Error::NoCommonBindingMode)?;
                let report_data = per_session_report_data(transcript.current().as_ref());
                fresh = attester
                    .attest_with_collateral(&report_data)
                    .map_err(Error::AttesterFailed)?;
                sh.evidence = EvidenceField {
                    platform: attester.platform().0,
                    bytes: &fresh.0,
                };
                fresh.1.as_deref()
            }
        };
        let wanted = ch
            .extensions
            .iter()
            .any(|e| e.typ == ExtensionType::EVIDENCE_COLLATERAL);
        if let (true, Some(data)) = (wanted, collateral) {
            if data.len() > usize::from(u16::MAX) {
                return Err(Error::AttesterFailed(AttesterError::new(
                    "collateral exceeds 65535 bytes",
                )));
            }
            sh.extensions.push(Extension {
                typ: ExtensionType::EVIDENCE_COLLATERAL,
                data,
            });
        }
        let streams = config.streams && ch.extensions.iter().any(|e| e.typ == ExtensionType::STREAMS);
        if streams {
            sh.extensions.push(Extension {
                typ: ExtensionType::STREAMS,
                data: &[],
            });
        }
        let acknowledged = ch.extensions.iter().any(|e| e.typ == ExtensionType::ACKNOWLEDGEMENTS);
        if acknowledged {
            sh.extensions.push(Extension {
                typ: ExtensionType::ACKNOWLEDGEMENTS,
                data: &[],
            });
        }
        let mark = body.len();
        sh.encode_evidence_and_extensions(&mut body)?;
        transcript.update(&body[mark..]);

        let mark = body.len();
        match identity {
            Some(c) => ServerHello::encode_signature(&c.sign_transcript(transcript.current().as_ref()), &mut body)?,
            None => ServerHello::encode_signature(&[], &mut body)?,
        }
        transcript.update(&body[mark..]);

        let mark = body.len();
        let finished = secrets.server_finished(transcript.current().as_ref());
        ServerHello::encode_finished(finished.as_bytes(), &mut body)?;
        transcript.update(&body[mark..]);

        let th_end = transcript.current();
        let traffic = secrets.traffic_secrets(th_end.as_ref());
        Ok((
            AwaitingClientFinished {
                session_id,
                suite,
                started: now,
                timeout: config.handshake_timeout,
                limits: config.limits,
                expected_finished: secrets.client_finished(th_end.as_ref()),
                traffic,
                acknowledged,
                streams,
            },
            frame(MessageType::ServerHello, &body)?,
        ))
    }
}

impl AwaitingClientFinished {
    /// The session id this handshake assigned.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// When this handshake times out.
    pub fn deadline(&self) -> UnixTime {
        self.started.saturating_add(self.timeout)
    }

    /// Checks the client's key confirmation and returns the session.
    pub fn read_client_finished(self, message: &[u8], now: UnixTime) -> Result<Session, Error> {
        if now >= self.deadline() {
            return Err(Error::Timeout);
        }
        let frame = expect_frame(message, MessageType::ClientFinished)?;
        let cf = ClientFinished::read_exact(frame.body, "client finished")?;
        if cf.session_id != self.session_id {
            return Err(Error::WrongSession);
        }
        if !bool::from(self.expected_finished.as_bytes().ct_eq(cf.verify_data)) {
            return Err(Error::BadFinished);
        }
        let mut session = Session::new(
            self.session_id,
            self.suite,
            Role::Enclave,
            now,
            self.limits,
            self.traffic,
            None,
        );
        if self.streams {
            session.set_streams();
        }
        if self.acknowledged {
            // Answer the ClientFinished with [`Session::seal_ack`].
            session.set_acknowledged();
        }
        Ok(session)
    }
}
