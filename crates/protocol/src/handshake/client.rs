//! The client's handshake: send a ClientHello, then check the ServerHello.

use super::{ephemeral_key, expect_frame, random};
use crate::attestation::{Claims, Evidence};
use crate::binding::{identity_key_report_data, per_session_report_data, signature_input};
use crate::codec::Codec;
use crate::config::ClientConfig;
use crate::crypto::identity_key;
use crate::crypto::key_schedule::HandshakeSecrets;
use crate::crypto::kx::EphemeralKey;
use crate::crypto::transcript::Transcript;
use crate::error::Error;
use crate::msgs::{ClientFinished, ClientHello, Extension, ExtensionType, KeyShare, MessageType, ServerHello, frame};
use crate::record::{Role, Session};
use crate::suite::{BindingMode, CipherSuite, Group, PlatformId, ProtocolVersion, SignatureScheme};
use crate::time::UnixTime;
use alloc::sync::Arc;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;

/// A client waiting for the enclave's ServerHello.
pub struct ClientHandshake {
    config: Arc<ClientConfig>,
    started: UnixTime,
    client_hello_body: Vec<u8>,
    key_shares: Vec<(Group, EphemeralKey)>,
}

impl core::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

/// A completed client handshake.
pub struct Established {
    /// The session, ready to seal application data at once.
    pub session: Session,
    /// The ClientFinished frame to send before (or together with) the first record.
    pub client_finished: Vec<u8>,
}

impl core::fmt::Debug for Established {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Established")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl ClientHandshake {
    /// Starts a handshake: returns the state and the ClientHello frame to send.
    ///
    /// Randomness drawn, in order: the 32-byte client nonce, then one 32-byte private key
    /// per distinct group of the offered suites.
    pub fn start(
        config: Arc<ClientConfig>,
        rng: &mut dyn rand_core::CryptoRngCore,
        now: UnixTime,
    ) -> Result<(Self, Vec<u8>), Error> {
        let nonce = random::<32>(rng)?;
        let mut key_shares: Vec<(Group, EphemeralKey)> = Vec::new();
        for suite in &config.suites {
            let group = suite.group();
            if !key_shares.iter().any(|(g, _)| *g == group) {
                key_shares.push((group, ephemeral_key(config.ephemeral_keys, rng)?));
            }
        }
        let hello = ClientHello {
            versions: ProtocolVersion::SUPPORTED.iter().map(|v| v.0).collect(),
            suites: config.suites.iter().map(|s| s.code()).collect(),
            binding_modes: config.binding_modes.iter().map(|m| m.code()).collect(),
            nonce,
            key_shares: key_shares
                .iter()
                .map(|(g, k)| KeyShare {
                    group: g.code(),
                    key: k.public(),
                })
                .collect(),
            extensions: [
                (config.accept_collateral, ExtensionType::EVIDENCE_COLLATERAL),
                (config.acknowledgements, ExtensionType::ACKNOWLEDGEMENTS),
                (config.streams, ExtensionType::STREAMS),
            ]
            .into_iter()
            .filter(|(asked, _)| *asked)
            .map(|(_, typ)| Extension { typ, data: &[] })
            .collect(),
        };
        let client_hello_body = hello.to_vec()?;
        let message = frame(MessageType::ClientHello, &client_hello_body)?;
        Ok((
            Self {
                config,
                started: now,
                client_hello_body,
                key_shares,
            },
            message,
        ))
    }

    /// When this handshake times out.
    pub fn deadline(&self) -> UnixTime {
        self.started.saturating_add(self.config.handshake_timeout)
    }

    /// Checks the ServerHello (attestation, binding, signature, key confirmation) and, if
    /// all holds, returns the session and the ClientFinished to send.
    pub fn read_server_hello(self, message: &[u8], now: UnixTime) -> Result<Established, Error> {
        if now >= self.deadline() {
            return Err(Error::Timeout);
        }
        let server_hello = expect_frame(message, MessageType::ServerHello)?;
        let body = server_hello.body;
        let (sh, at) = ServerHello::read_with_offsets(body)?;

        // Selections must be known and offered: anything else is a downgrade or a bug.
        let version = ProtocolVersion(sh.version);
        if !version.is_supported() {
            return Err(Error::NotOffered("protocol version"));
        }
        let suite = CipherSuite::from_code(sh.suite)
            .filter(|s| self.config.suites.contains(s))
            .ok_or(Error::NotOffered("cipher suite"))?;
        let mode = BindingMode::from_code(sh.binding_mode)
            .filter(|m| self.config.binding_modes.contains(m))
            .ok_or(Error::NotOffered("binding mode"))?;
        let group = suite.group();
        if sh.key_share.group != group.code() || sh.key_share.key.len() != group.share_len() {
            return Err(Error::BadKeyShare);
        }
        let identity = match mode {
            BindingMode::IdentityKey => Some(
                SignatureScheme::from_code(sh.identity_key.scheme)
                    .ok_or(Error::IllegalParameter("identity key scheme"))?,
            ),
            BindingMode::PerSession if sh.identity_key.scheme != 0 => {
                return Err(Error::IllegalParameter("identity key in per-session mode"));
            }
            BindingMode::PerSession => None,
        };
        // Only collateral may come back, and only when asked for.
        let mut collateral = None;
        let mut acknowledged = false;
        let mut streams = false;
        for e in &sh.extensions {
            match e.typ {
                ExtensionType::STREAMS if self.config.streams && e.data.is_empty() => streams = true,
                ExtensionType::EVIDENCE_COLLATERAL if self.config.accept_collateral => collateral = Some(e.data),
                ExtensionType::ACKNOWLEDGEMENTS if self.config.acknowledgements && e.data.is_empty() => {
                    acknowledged = true;
                }
                other => return Err(Error::UnsolicitedExtension(other.0)),
            }
        }

        // Attestation: the evidence must verify and bind this handshake.
        let mut transcript = Transcript::new(suite.hash(), &self.client_hello_body);
        transcript.update(&body[..at.evidence]);
        let expected = match identity {
            None => per_session_report_data(transcript.current().as_ref()),
            Some(scheme) => identity_key_report_data(scheme, sh.identity_key.key),
        };
        let mut evidence = Evidence::new(PlatformId(sh.evidence.platform), sh.evidence.bytes);
        evidence.collateral = collateral;
        let claims: Claims = self.config.verifier.verify(&evidence, &expected, now)?;
        if !bool::from(claims.report_data.ct_eq(&expected)) {
            return Err(Error::ReportDataMismatch);
        }

        // Identity-key mode: the attested key signs this transcript (freshness: the nonce).
        transcript.update(&body[at.evidence..at.signature]);
        match identity {
            Some(_) => {
                let input = signature_input(transcript.current().as_ref());
                if !identity_key::verify(sh.identity_key.key, &input, sh.signature) {
                    return Err(Error::BadSignature);
                }
            }
            None if !sh.signature.is_empty() => {
                return Err(Error::IllegalParameter("signature in per-session mode"));
            }
            None => {}
        }

        // Key confirmation from the enclave.
        let Self { config, key_shares, .. } = self;
        let key = key_shares
            .into_iter()
            .find(|(g, _)| *g == group)
            .map(|(_, k)| k)
            .ok_or(Error::BadKeyShare)?;
        let shared = key.agree(sh.key_share.key).ok_or(Error::BadKeyShare)?;
        let secrets = HandshakeSecrets::new(suite.hash(), &shared);
        transcript.update(&body[at.signature..at.finished]);
        let server_finished = secrets.server_finished(transcript.current().as_ref());
        if !bool::from(server_finished.as_bytes().ct_eq(sh.finished)) {
            return Err(Error::BadFinished);
        }
        transcript.update(&body[at.finished..]);
        let th_end = transcript.current();
        let client_finished = secrets.client_finished(th_end.as_ref());
        let traffic = secrets.traffic_secrets(th_end.as_ref());

        let cf = ClientFinished {
            session_id: sh.session_id,
            verify_data: client_finished.as_bytes(),
        };
        let mut session = Session::new(
            sh.session_id,
            suite,
            Role::Client,
            now,
            config.limits,
            traffic,
            Some(claims),
        );
        if streams {
            session.set_streams();
        }
        if acknowledged {
            // The enclave's first record will be its SessionAck ([`Session::open_ack`]).
            session.set_acknowledged();
        }
        if let Some(log) = &config.key_log {
            session.log_keys(log.as_ref());
        }
        Ok(Established {
            session,
            client_finished: frame(MessageType::ClientFinished, &cf.to_vec()?)?,
        })
    }
}
