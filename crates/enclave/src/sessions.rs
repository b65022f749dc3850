//! The session table: handshakes in progress and established sessions, sharded by session
//! id so that records of different sessions never wait on each other's encryption.

use rand_core::{OsRng, RngCore};
use sc_attestation::RefreshingIdentity;
use sc_boundary::{ChannelOutcome, ErrorCode};
use sc_protocol::msgs::{Alert, Frame, MessageType};
use sc_protocol::{AwaitingClientFinished, EnclaveConfig, EnclaveHandshake, Incoming, Session, UnixTime};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const SHARDS: usize = 64;

/// Capacity and expiry limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnclaveLimits {
    /// Established sessions at most.
    pub max_sessions: usize,
    /// Handshakes in progress at most (a flood of ClientHellos cannot exhaust memory).
    pub max_pending: usize,
    /// Sessions unused this long are dropped.
    pub idle_timeout: Duration,
    /// Drop each session's expanded AEAD keys after every call (about 1 KiB saved per
    /// session, a few hundred nanoseconds per call to rebuild them).
    pub park_sessions: bool,
}

impl Default for EnclaveLimits {
    fn default() -> Self {
        Self {
            max_sessions: 1_000_000,
            max_pending: 4096,
            idle_timeout: Duration::from_secs(15 * 60),
            park_sessions: true,
        }
    }
}

/// Why the enclave refused a call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EnclaveError {
    /// No session with this id (never existed, closed, or expired).
    #[error("unknown session")]
    UnknownSession,
    /// Session or pending-handshake capacity reached.
    #[error("enclave at capacity")]
    Busy,
    /// The handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] sc_protocol::Error),
    /// A record was rejected.
    #[error("record rejected: {0}")]
    Record(#[from] sc_protocol::RecordError),
    /// The message is not one the channel handles here (named).
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
    /// No application function has this number.
    #[error("no application function {0}")]
    NoSuchFunction(u32),
    /// The identity credential could not be refreshed.
    #[error("attestation unavailable: {0}")]
    Attestation(String),
    /// An application function reported failure with this code.
    #[error("application function failed with code {0}")]
    Application(i32),
}

impl EnclaveError {
    /// The boundary's code for this refusal (its text travels beside it).
    pub fn code(&self) -> ErrorCode {
        match self {
            EnclaveError::UnknownSession => ErrorCode::UnknownSession,
            EnclaveError::Busy => ErrorCode::Busy,
            EnclaveError::Handshake(_) => ErrorCode::Handshake,
            EnclaveError::Record(_) => ErrorCode::Record,
            EnclaveError::Unexpected(_) => ErrorCode::UnexpectedMessage,
            EnclaveError::NoSuchFunction(_) => ErrorCode::NoSuchFunction,
            EnclaveError::Attestation(_) => ErrorCode::Attestation,
            EnclaveError::Application(_) => ErrorCode::Application,
        }
    }
}

/// Both states are boxed: the hash table grows by powers of two and is often half empty,
/// and an empty bucket costs the size of a slot. Boxed, a bucket is 24 bytes instead of a
/// whole session (measured: 1,099 bytes per session at 1,000,000 sessions inline).
enum Slot {
    Pending { handshake: Box<AwaitingClientFinished> },
    Open { session: Box<Session>, last_used: UnixTime },
}

/// All sessions of one enclave.
pub struct SessionManager {
    config: EnclaveConfig,
    identity: Option<RefreshingIdentity>,
    limits: EnclaveLimits,
    shards: Vec<Mutex<HashMap<u64, Slot>>>,
    open: AtomicUsize,
    pending: AtomicUsize,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("limits", &self.limits)
            .field("open", &self.open.load(Ordering::Relaxed))
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Decrypted application data, still in the record's buffer.
pub struct Plaintext {
    buf: Vec<u8>,
    start: usize,
}

impl std::ops::Deref for Plaintext {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext({} bytes)", self.len())
    }
}

impl SessionManager {
    /// A manager using `config` for handshakes; with `identity`, its current credential is
    /// installed before each handshake (identity-key binding mode).
    pub fn new(config: EnclaveConfig, identity: Option<RefreshingIdentity>, limits: EnclaveLimits) -> Self {
        Self {
            config,
            identity,
            limits,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            open: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
        }
    }

    fn shard(&self, id: u64) -> MutexGuard<'_, HashMap<u64, Slot>> {
        self.shards[(id % SHARDS as u64) as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Established sessions.
    pub fn open_sessions(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Handshakes in progress.
    pub fn pending_handshakes(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Handles a handshake or close message and says what became of it. A handshake that
    /// fails is [`ChannelOutcome::Refused`] with the alert for the client.
    pub fn handle_channel(&self, message: &[u8], now: UnixTime) -> Result<ChannelOutcome, EnclaveError> {
        let frame =
            Frame::parse(message, sc_protocol::msgs::MAX_FRAME_BODY).map_err(|e| EnclaveError::Handshake(e.into()))?;
        match frame.msg_type {
            MessageType::ClientHello => Ok(self.accept(message, now)),
            MessageType::ClientFinished => {
                let id = frame
                    .session_id()
                    .ok_or(EnclaveError::Unexpected("finished without session id"))?;
                match self.finish(id, message, now) {
                    Ok(ack) => Ok(ChannelOutcome::Established { ack }),
                    Err(EnclaveError::Handshake(h)) => Ok(ChannelOutcome::Refused {
                        alert: Alert {
                            session_id: id,
                            code: h.alert_code(),
                        }
                        .to_frame(),
                    }),
                    Err(e) => Err(e),
                }
            }
            MessageType::Close => {
                let id = frame
                    .session_id()
                    .ok_or(EnclaveError::Unexpected("close without session id"))?;
                // The record type is authenticated (it is in the AEAD's associated data), so a
                // Close frame that opens is the client's close.
                // An acknowledged session answers with the enclave's own Close.
                let mut buf = message.to_vec();
                let reply = self.with_session(id, now, |s| {
                    s.open_in_place(now, &mut buf)?;
                    if s.acknowledged() {
                        s.seal_close(now).map(Some)
                    } else {
                        Ok(None)
                    }
                })?;
                self.remove(id);
                Ok(ChannelOutcome::Closed { reply })
            }
            MessageType::ApplicationData => Err(EnclaveError::Unexpected("application data outside an app call")),
            MessageType::ServerHello | MessageType::Alert | MessageType::SessionAck => {
                Err(EnclaveError::Unexpected("server-side message"))
            }
        }
    }

    /// Answers a ClientHello: accepted with a ServerHello, or refused with an alert saying
    /// why not.
    fn accept(&self, client_hello: &[u8], now: UnixTime) -> ChannelOutcome {
        let refuse = |code| ChannelOutcome::Refused {
            alert: Alert { session_id: 0, code }.to_frame(),
        };
        if self.pending.load(Ordering::Relaxed) >= self.limits.max_pending
            || self.open.load(Ordering::Relaxed) >= self.limits.max_sessions
        {
            return refuse(sc_protocol::msgs::AlertCode::Busy);
        }
        let config = match &self.identity {
            Some(identity) => match identity.enclave_config(&self.config, now) {
                Ok(c) => c,
                Err(_) => return refuse(sc_protocol::msgs::AlertCode::AttestationUnavailable),
            },
            None => self.config.clone(),
        };
        let id = self.fresh_id();
        match EnclaveHandshake::accept(&config, id, client_hello, &mut OsRng, now) {
            Ok((handshake, server_hello)) => {
                self.shard(id).insert(
                    id,
                    Slot::Pending {
                        handshake: Box::new(handshake),
                    },
                );
                self.pending.fetch_add(1, Ordering::Relaxed);
                ChannelOutcome::Accepted {
                    session_id: id,
                    server_hello,
                }
            }
            Err(e) => {
                tracing::info!(error = %sc_protocol::ErrorChain(&e), "handshake refused");
                refuse(e.alert_code())
            }
        }
    }

    /// A random, unused, non-zero session id.
    fn fresh_id(&self) -> u64 {
        loop {
            let id = OsRng.next_u64();
            if id != 0 && !self.shard(id).contains_key(&id) {
                return id;
            }
        }
    }

    /// Checks the ClientFinished and opens the session; on an acknowledged session, returns
    /// the SessionAck record that answers it.
    fn finish(&self, id: u64, client_finished: &[u8], now: UnixTime) -> Result<Option<Vec<u8>>, EnclaveError> {
        let handshake = {
            let mut shard = self.shard(id);
            match shard.remove(&id) {
                Some(Slot::Pending { handshake }) => handshake,
                Some(other) => {
                    shard.insert(id, other);
                    return Err(EnclaveError::Unexpected("finished for an established session"));
                }
                None => return Err(EnclaveError::UnknownSession),
            }
        };
        self.pending.fetch_sub(1, Ordering::Relaxed);
        let mut session = handshake.read_client_finished(client_finished, now)?;
        let ack = if session.acknowledged() {
            Some(session.seal_ack(now)?)
        } else {
            None
        };
        if self.limits.park_sessions {
            session.park();
        }
        self.shard(id).insert(
            id,
            Slot::Open {
                session: Box::new(session),
                last_used: now,
            },
        );
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(ack)
    }

    fn with_session<T>(
        &self,
        id: u64,
        now: UnixTime,
        f: impl FnOnce(&mut Session) -> Result<T, sc_protocol::RecordError>,
    ) -> Result<T, EnclaveError> {
        let mut shard = self.shard(id);
        match shard.get_mut(&id) {
            Some(Slot::Open { session, last_used }) => {
                *last_used = now;
                let result = f(session);
                if self.limits.park_sessions {
                    session.park();
                }
                Ok(result?)
            }
            _ => Err(EnclaveError::UnknownSession),
        }
    }

    /// Decrypts a client record of session `id` (the enclave-side `decrypt`).
    pub fn decrypt(&self, id: u64, record: &[u8], now: UnixTime) -> Result<Vec<u8>, EnclaveError> {
        self.decrypt_in_place(id, record.to_vec(), now).map(|p| p.to_vec())
    }

    /// Decrypts a record in the buffer that holds it (no copy); the result derefs to the
    /// plaintext.
    pub fn decrypt_in_place(&self, id: u64, mut record: Vec<u8>, now: UnixTime) -> Result<Plaintext, EnclaveError> {
        let data = self.with_session(id, now, |s| match s.open_in_place(now, &mut record)? {
            Incoming::Data(p) => Ok(Some(p.len())),
            Incoming::Close => Ok(None),
        })?;
        match data {
            Some(len) => {
                let start = sc_protocol::msgs::RECORD_HEADER_LEN;
                record.truncate(start + len);
                Ok(Plaintext { buf: record, start })
            }
            None => {
                self.remove(id);
                Err(EnclaveError::UnknownSession)
            }
        }
    }

    /// Encrypts `plaintext` into a record of session `id` (the enclave-side `encrypt`).
    pub fn encrypt(&self, id: u64, plaintext: &[u8], now: UnixTime) -> Result<Vec<u8>, EnclaveError> {
        self.with_session(id, now, |s| s.seal(now, plaintext))
    }

    /// Whether session `id` is established (not pending, closed or expired).
    pub fn is_open(&self, id: u64) -> bool {
        matches!(self.shard(id).get(&id), Some(Slot::Open { .. }))
    }

    /// Encrypts `plaintext` for session `id` into `out` (at least
    /// [`Session::record_len`] of the plaintext's length); returns the record's length.
    pub fn encrypt_into(
        &self,
        id: u64,
        plaintext: &[u8],
        out: &mut [u8],
        now: UnixTime,
    ) -> Result<usize, EnclaveError> {
        self.with_session(id, now, |s| s.seal_into(now, plaintext, out))
    }

    /// Drops a session or pending handshake.
    pub fn remove(&self, id: u64) -> bool {
        match self.shard(id).remove(&id) {
            Some(Slot::Open { .. }) => {
                self.open.fetch_sub(1, Ordering::Relaxed);
                true
            }
            Some(Slot::Pending { .. }) => {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Drops sessions idle for longer than the limit and handshakes past their deadline.
    /// Returns how many were dropped.
    pub fn expire(&self, now: UnixTime) -> usize {
        let mut dropped = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.retain(|_, slot| {
                let keep = match slot {
                    Slot::Pending { handshake } => now < handshake.deadline(),
                    Slot::Open { session, last_used } => {
                        now.since(*last_used) < self.limits.idle_timeout && !session.is_expired(now)
                    }
                };
                if !keep {
                    dropped += 1;
                    match slot {
                        Slot::Pending { .. } => self.pending.fetch_sub(1, Ordering::Relaxed),
                        Slot::Open { .. } => self.open.fetch_sub(1, Ordering::Relaxed),
                    };
                }
                keep
            });
        }
        dropped
    }
}
