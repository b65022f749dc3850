//! The session table: handshakes in progress and established sessions, sharded by session
//! id. A table lookup takes the shard's lock; record protection takes only the session's
//! own, so records of different sessions never wait on each other's encryption.

use crate::error::{EnclaveError, refusal};
use crate::order::{Budget, DEFAULT_GLOBAL_WAITING_BYTES, Inbox, ORDER_WAIT, Waiting, queue_position};
use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};
use sc_attestation::RefreshingIdentity;
use sc_boundary::{ChannelOutcome, Response};
use sc_protocol::msgs::{Alert, CloseReason, Frame, MessageType};
use sc_protocol::{
    AwaitingClientFinished, EnclaveConfig, EnclaveHandshake, IdentityCredential, Incoming, Session, UnixTime,
};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

/// Shards of the session table (a few under loom, whose state space grows with each lock).
#[cfg(not(loom))]
const SHARDS: usize = 64;
#[cfg(loom)]
const SHARDS: usize = 2;

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
    /// How long a session's client records may wait for a missing earlier one before the
    /// session ends (a host that dropped a record; see [`crate::order`]). Checked by the
    /// sweep ([`SessionManager::expire`]).
    pub order_wait: Duration,
    /// The most bytes of client records waiting for their turn across all sessions.
    pub waiting_bytes: usize,
}

impl Default for EnclaveLimits {
    fn default() -> Self {
        Self {
            max_sessions: 1_000_000,
            max_pending: 4096,
            idle_timeout: Duration::from_secs(15 * 60),
            park_sessions: true,
            order_wait: ORDER_WAIT,
            waiting_bytes: DEFAULT_GLOBAL_WAITING_BYTES,
        }
    }
}

/// A pending handshake is boxed: the hash table grows by powers of two and is often half
/// empty, and an empty bucket costs the size of a slot (measured: 1,099 bytes per session
/// at 1,000,000 sessions with sessions inline). An open session is shared, so that its
/// record protection runs outside the shard's lock: sessions that share a shard never wait
/// on each other's encryption, only on the table lookup.
enum Slot {
    Pending { handshake: Box<AwaitingClientFinished> },
    Open(Arc<OpenSession>),
}

struct OpenSession {
    session: Mutex<Session>,
    /// Milliseconds since the Unix epoch of the last use.
    last_used: AtomicU64,
    /// The client's records waiting for their turn (request/reply sessions; a stream
    /// session's records wait in its stream's inbox).
    order: Mutex<Inbox>,
}

impl OpenSession {
    fn is_idle(&self, now: UnixTime, idle_timeout: Duration) -> bool {
        now.since(UnixTime::from_millis(self.last_used.load(Ordering::Relaxed))) >= idle_timeout
    }
}

/// Established sessions and pending handshakes, counted together so that a reservation
/// checks both limits at once.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    open: usize,
    pending: usize,
}

/// Where the enclave's randomness (session ids, handshake randoms) comes from.
enum Entropy {
    System,
    /// Deterministic, for tests and benchmarks.
    Seeded(Box<Mutex<ChaCha20Rng>>),
}

/// [`Entropy`] as an RNG for the handshake.
struct EntropyRng<'a>(&'a Entropy);

impl RngCore for EntropyRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        match self.0 {
            Entropy::System => OsRng.fill_bytes(dest),
            Entropy::Seeded(rng) => lock(rng).fill_bytes(dest),
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        match self.0 {
            Entropy::System => OsRng.try_fill_bytes(dest),
            Entropy::Seeded(rng) => lock(rng).try_fill_bytes(dest),
        }
    }
}

impl CryptoRng for EntropyRng<'_> {}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The configuration handshakes use with an identity, rebuilt only when its credential
/// changes (not per hello).
struct HelloConfig {
    credential: Arc<IdentityCredential>,
    config: Arc<EnclaveConfig>,
}

/// All sessions of one enclave.
pub struct SessionManager {
    base: Arc<EnclaveConfig>,
    identity: Option<RefreshingIdentity>,
    /// With an identity: the configuration with its current credential.
    hello_config: Mutex<Option<HelloConfig>>,
    limits: EnclaveLimits,
    shards: Vec<Mutex<HashMap<u64, Slot>>>,
    counts: Mutex<Counts>,
    entropy: Entropy,
    /// What the client records waiting for their turn may hold, across sessions.
    budget: Arc<Budget>,
    /// Told of every established session dropped.
    listener: Mutex<Option<RemovalListener>>,
    /// Sessions whose client records have waited for a missing one: checked often
    /// ([`SessionManager::expire_gaps`]), without walking the whole table.
    gaps: Mutex<std::collections::HashSet<u64>>,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = *lock(&self.counts);
        f.debug_struct("SessionManager")
            .field("limits", &self.limits)
            .field("open", &counts.open)
            .field("pending", &counts.pending)
            .finish_non_exhaustive()
    }
}

/// Told the id of each established session dropped ([`SessionManager::on_removed`]).
type RemovalListener = Arc<dyn Fn(u64) + Send + Sync>;

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
    /// installed for each handshake (identity-key binding mode). Randomness comes from the
    /// operating system.
    pub fn new(config: EnclaveConfig, identity: Option<RefreshingIdentity>, limits: EnclaveLimits) -> Self {
        Self {
            base: Arc::new(config),
            hello_config: Mutex::new(None),
            identity,
            limits,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            counts: Mutex::new(Counts::default()),
            entropy: Entropy::System,
            budget: Budget::new(limits.waiting_bytes),
            listener: Mutex::new(None),
            gaps: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// The budget every inbox of this enclave's sessions draws on (stream sessions' too).
    pub fn waiting_budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The same manager drawing its randomness (session ids, handshake randoms) from a
    /// generator seeded with `seed`: runs are reproducible. For tests and benchmarks only.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.entropy = Entropy::Seeded(Box::new(Mutex::new(ChaCha20Rng::seed_from_u64(seed))));
        self
    }

    fn shard(&self, id: u64) -> MutexGuard<'_, HashMap<u64, Slot>> {
        lock(&self.shards[(id % SHARDS as u64) as usize])
    }

    /// Fresh evidence for the host's probe, over the probe's own report data
    /// ([`sc_protocol::binding::probe_report_data`]), never over report data the host
    /// chooses.
    pub fn probe_evidence(&self, nonce: &[u8; 32]) -> Result<sc_boundary::ProbeEvidence, EnclaveError> {
        let attester = self
            .base
            .attester()
            .cloned()
            .or_else(|| self.identity.as_ref().map(|i| i.attester()));
        let attester = attester.ok_or_else(|| {
            EnclaveError::Attestation(sc_protocol::AttesterError::new("this enclave has no attester"))
        })?;
        let report_data = sc_protocol::binding::probe_report_data(nonce);
        let (evidence, collateral) = attester
            .attest_with_collateral(&report_data)
            .map_err(EnclaveError::Attestation)?;
        Ok(sc_boundary::ProbeEvidence {
            platform: attester.platform(),
            evidence,
            collateral,
        })
    }

    /// Established sessions.
    pub fn open_sessions(&self) -> usize {
        lock(&self.counts).open
    }

    /// Handshakes in progress.
    pub fn pending_handshakes(&self) -> usize {
        lock(&self.counts).pending
    }

    /// Reserves a pending-handshake slot if both limits allow one (checked and taken
    /// under one lock, so that concurrent hellos cannot overshoot).
    fn reserve_pending(&self) -> bool {
        let mut c = lock(&self.counts);
        if c.pending >= self.limits.max_pending || c.open + c.pending >= self.limits.max_sessions {
            return false;
        }
        c.pending += 1;
        true
    }

    fn release_pending(&self) {
        let mut c = lock(&self.counts);
        c.pending = c.pending.saturating_sub(1);
    }

    /// The configuration for a handshake at `now`: the base one, with the identity's
    /// current credential if there is an identity.
    fn hello_config(&self, now: UnixTime) -> Arc<EnclaveConfig> {
        // Without an identity the base configuration serves every hello, with no lock.
        let Some(identity) = &self.identity else {
            return self.base.clone();
        };
        let credential = identity.current(now);
        let mut cached = lock(&self.hello_config);
        match &*cached {
            Some(c) if Arc::ptr_eq(&c.credential, &credential) => c.config.clone(),
            _ => {
                let config = Arc::new(self.base.with_identity(credential.clone()));
                *cached = Some(HelloConfig {
                    credential,
                    config: config.clone(),
                });
                config
            }
        }
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
                // A Close that does not open (forged, out of sequence) changes nothing.
                let mut buf = message.to_vec();
                let reply = self.with_session(id, now, |s| {
                    s.open_in_place(now, &mut buf)?;
                    if s.acknowledged() {
                        s.seal_close(now, CloseReason::Normal).map(Some)
                    } else {
                        Ok(None)
                    }
                })?;
                self.remove(id);
                Ok(ChannelOutcome::Closed { reply })
            }
            MessageType::ApplicationData | MessageType::EndOfStream => {
                Err(EnclaveError::Unexpected("application data outside an app call"))
            }
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
        if !self.reserve_pending() {
            return refuse(sc_protocol::msgs::AlertCode::Busy);
        }
        let config = self.hello_config(now);
        let mut rng = EntropyRng(&self.entropy);
        loop {
            let id = rng.next_u64();
            if id == 0 {
                continue;
            }
            let (handshake, server_hello) = match EnclaveHandshake::accept(&config, id, client_hello, &mut rng, now) {
                Ok(accepted) => accepted,
                Err(e) => {
                    self.release_pending();
                    tracing::info!(error = %sc_protocol::ErrorChain(&e), "handshake refused");
                    return refuse(e.alert_code());
                }
            };
            // The id is claimed here, under the shard's lock; another hello that drew the
            // same id first (a 2^-64 chance) makes this one start over with a new id.
            match self.shard(id).entry(id) {
                Entry::Occupied(_) => continue,
                Entry::Vacant(slot) => {
                    slot.insert(Slot::Pending {
                        handshake: Box::new(handshake),
                    });
                }
            }
            return ChannelOutcome::Accepted {
                session_id: id,
                server_hello,
            };
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
        let opened = handshake
            .read_client_finished(client_finished, now)
            .and_then(|mut session| {
                let ack = if session.acknowledged() {
                    Some(session.seal_ack(now).map_err(sc_protocol::Error::Acknowledgement)?)
                } else {
                    None
                };
                Ok((session, ack))
            });
        let (mut session, ack) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                self.release_pending();
                return Err(e.into());
            }
        };
        if self.limits.park_sessions {
            session.park();
        }
        {
            let mut c = lock(&self.counts);
            c.pending = c.pending.saturating_sub(1);
            c.open += 1;
        }
        self.shard(id).insert(
            id,
            Slot::Open(Arc::new(OpenSession {
                session: Mutex::new(session),
                last_used: AtomicU64::new(now.as_millis()),
                order: Mutex::new(Inbox::new(0, self.budget.clone())),
            })),
        );
        Ok(ack)
    }

    fn open_session(&self, id: u64) -> Option<Arc<OpenSession>> {
        match self.shard(id).get(&id) {
            Some(Slot::Open(open)) => Some(open.clone()),
            _ => None,
        }
    }

    /// Runs `handle` on a client record of request/reply session `id`, in sequence order
    /// (see [`crate::order`]): a record that comes before its turn waits, and the call
    /// that handles the record before it handles it next, so no thread waits and replies
    /// are sealed in the order of the requests. `handle` gets the function number and the
    /// record and gives the answer; it must open the record through this manager.
    pub(crate) fn in_order(&self, id: u64, w: Waiting, now: UnixTime, handle: impl Fn(u32, Vec<u8>) -> Response) {
        let Some(open) = self.open_session(id) else {
            return w.reply.send(refusal(&EnclaveError::UnknownSession));
        };
        let sequence = match queue_position(id, &w.record) {
            Ok(sequence) => sequence,
            Err(e) => return w.reply.send(refusal(&e)),
        };
        // The common case (the session idle, this the record it expects) runs at once,
        // without queueing: no allocation, and the queue's lock taken twice per record.
        let mut next = {
            let mut inbox = lock(&open.order);
            if !inbox.busy && inbox.is_empty() && inbox.expects(sequence) {
                inbox.busy = true;
                Some(w)
            } else {
                if let Err((e, w)) = inbox.queue(sequence, w, now) {
                    drop(inbox);
                    return w.reply.send(refusal(&e));
                }
                if inbox.busy {
                    // The call handling this session's records takes this one in its turn.
                    return;
                }
                // Idle: this call handles the session's records from here, if the one
                // expected is here (else the record waits for it, and nobody is busy).
                let first = inbox.take();
                inbox.busy = first.is_some();
                self.note_gap(id, &inbox);
                first
            }
        };
        while let Some(w) = next {
            let answer = handle(w.function, w.record);
            let received = lock(&open.session).received();
            next = {
                let mut inbox = lock(&open.order);
                inbox.advance(received, now);
                let following = inbox.take();
                inbox.busy = following.is_some();
                self.note_gap(id, &inbox);
                following
            };
            w.reply.send(answer);
        }
    }

    /// Hands session `id` to the gap sweep ([`SessionManager::expire_gaps`]) when nobody
    /// is handling its records and some wait for a missing one. Only then: records that
    /// queue behind one being handled (every pipelined record) take no shared lock.
    fn note_gap(&self, id: u64, inbox: &Inbox) {
        if !inbox.busy && inbox.gap_since().is_some() {
            lock(&self.gaps).insert(id);
        }
    }

    /// How long client records may wait for a missing earlier one.
    pub fn order_wait(&self) -> Duration {
        self.limits.order_wait
    }

    /// How many client records session `id` has accepted (`None`: no such open session).
    pub fn received(&self, id: u64) -> Option<u64> {
        self.open_session(id).map(|open| lock(&open.session).received())
    }

    /// How many records the enclave has sealed for session `id` (`None`: no such open
    /// session).
    pub fn sent(&self, id: u64) -> Option<u64> {
        self.open_session(id).map(|open| lock(&open.session).sent())
    }

    /// Runs `f` on open session `id`, holding only that session's lock.
    fn with_session<T>(
        &self,
        id: u64,
        now: UnixTime,
        f: impl FnOnce(&mut Session) -> Result<T, sc_protocol::RecordError>,
    ) -> Result<T, EnclaveError> {
        let open = self.open_session(id).ok_or(EnclaveError::UnknownSession)?;
        open.last_used.fetch_max(now.as_millis(), Ordering::Relaxed);
        let mut session = lock(&open.session);
        let result = f(&mut session);
        if self.limits.park_sessions {
            session.park();
        }
        Ok(result?)
    }

    /// Decrypts a client record of session `id` (the enclave-side `decrypt`).
    pub fn decrypt(&self, id: u64, record: &[u8], now: UnixTime) -> Result<Vec<u8>, EnclaveError> {
        self.decrypt_in_place(id, record.to_vec(), now).map(|p| p.to_vec())
    }

    /// Decrypts a record in the buffer that holds it (no copy); the result derefs to the
    /// plaintext. The client's EndOfStream (stream sessions) is
    /// `Err(EnclaveError::Record(RecordError::StreamEnded))` here.
    pub fn decrypt_in_place(&self, id: u64, mut record: Vec<u8>, now: UnixTime) -> Result<Plaintext, EnclaveError> {
        let data = self.with_session(id, now, |s| match s.open_in_place(now, &mut record)? {
            Incoming::Data(p) => Ok(Some(p.len())),
            Incoming::Close(_) => Ok(None),
            Incoming::EndOfStream { .. } => Err(sc_protocol::RecordError::StreamEnded),
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

    /// Ends session `id` from the enclave's side for `reason`: its own Close record for
    /// the client, and the session dropped. Every session gets one, acknowledged or not:
    /// the client's record layer reads a Close at any point, and the Close says how many
    /// of the client's records the enclave accepted, so the client knows, authenticated,
    /// which of its requests were never received (those above that count) and which may
    /// have run.
    pub fn end_session(&self, id: u64, now: UnixTime, reason: CloseReason) -> Result<Option<Vec<u8>>, EnclaveError> {
        let reply = self.with_session(id, now, |s| s.seal_close(now, reason).map(Some));
        self.remove(id);
        reply
    }

    /// Whether session `id` is an established stream session (extension `streams`).
    pub fn is_stream(&self, id: u64, now: UnixTime) -> bool {
        self.with_session(id, now, |s| Ok(s.streams())).unwrap_or(false)
    }

    /// Opens a client record of stream session `id`: its data, or `None` for the
    /// client's EndOfStream. A Close ends the session (`UnknownSession` afterwards).
    pub fn receive(&self, id: u64, mut record: Vec<u8>, now: UnixTime) -> Result<Option<Plaintext>, EnclaveError> {
        let got = self.with_session(id, now, |s| match s.open_in_place(now, &mut record)? {
            Incoming::Data(p) => Ok(Some(Some(p.len()))),
            Incoming::EndOfStream { .. } => Ok(Some(None)),
            Incoming::Close(_) => Ok(None),
        })?;
        match got {
            Some(Some(len)) => {
                let start = sc_protocol::msgs::RECORD_HEADER_LEN;
                record.truncate(start + len);
                Ok(Some(Plaintext { buf: record, start }))
            }
            Some(None) => Ok(None),
            None => {
                self.remove(id);
                Err(EnclaveError::UnknownSession)
            }
        }
    }

    /// Seals the enclave's EndOfStream for stream session `id` (its backend finished).
    pub fn end_stream(&self, id: u64, now: UnixTime) -> Result<Vec<u8>, EnclaveError> {
        self.with_session(id, now, |s| s.seal_end_of_stream(now))
    }

    /// Whether session `id` is established (not pending, closed or expired).
    pub fn is_open(&self, id: u64) -> bool {
        matches!(self.shard(id).get(&id), Some(Slot::Open(_)))
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

    /// Drops a session or pending handshake. Its client records still waiting for their
    /// turn are answered with an error, and whoever listens for ends
    /// ([`SessionManager::on_removed`]) is told.
    pub fn remove(&self, id: u64) -> bool {
        let removed = self.shard(id).remove(&id);
        self.forget(removed.as_ref());
        let was = removed.is_some();
        self.ended(id, removed);
        was
    }

    /// Calls `listener` with the id of every established session dropped from now on, by
    /// any path (close, end, idle or gap sweep): the stream machinery frees what it holds
    /// for the session. One listener; a later call replaces it.
    pub fn on_removed(&self, listener: Box<dyn Fn(u64) + Send + Sync>) {
        *lock(&self.listener) = Some(Arc::from(listener));
    }

    /// After a slot left the table (no table lock held): its inbox ended, the listener told.
    fn ended(&self, id: u64, slot: Option<Slot>) {
        if let Some(Slot::Open(open)) = slot {
            // Dropped outside the inbox's lock: each waiting reply answers as it drops.
            let waiting = lock(&open.order).end();
            drop(waiting);
            let listener = lock(&self.listener).clone();
            if let Some(listener) = listener {
                listener(id);
            }
        }
    }

    fn forget(&self, slot: Option<&Slot>) {
        let mut c = lock(&self.counts);
        match slot {
            Some(Slot::Open(_)) => c.open = c.open.saturating_sub(1),
            Some(Slot::Pending { .. }) => c.pending = c.pending.saturating_sub(1),
            None => {}
        }
    }

    /// Drops sessions idle for longer than the limit, sessions whose client records have
    /// waited for a missing one for longer than [`EnclaveLimits::order_wait`] (a host
    /// that dropped a record: the first waiting record is answered with the enclave's
    /// Close, reason [`CloseReason::SequenceError`], the rest with errors), and
    /// handshakes past their deadline. Returns how many were dropped. (A session busy in
    /// a call right now is in use, so not idle: it is kept.)
    pub fn expire(&self, now: UnixTime) -> usize {
        let mut gone = Vec::new();
        for shard in &self.shards {
            let mut shard = lock(shard);
            let ids: Vec<u64> = shard
                .iter()
                .filter(|(_, slot)| match slot {
                    Slot::Pending { handshake } => now >= handshake.deadline(),
                    Slot::Open(open) => {
                        open.is_idle(now, self.limits.idle_timeout)
                            || open.session.try_lock().is_ok_and(|s| s.is_expired(now))
                            || lock(&open.order).gap_expired(now, self.limits.order_wait)
                    }
                })
                .map(|(id, _)| *id)
                .collect();
            for id in ids {
                if let Some(slot) = shard.remove(&id) {
                    self.forget(Some(&slot));
                    gone.push((id, slot));
                }
            }
        }
        self.drop_all(gone, now)
    }

    /// Ends the sessions whose client records have waited for a missing one for longer
    /// than [`EnclaveLimits::order_wait`] (see [`SessionManager::expire`]); only sessions
    /// that had such a gap are looked at, so this is cheap enough to run every second.
    /// Returns how many were dropped.
    pub fn expire_gaps(&self, now: UnixTime) -> usize {
        let candidates: Vec<u64> = lock(&self.gaps).iter().copied().collect();
        let mut gone = Vec::new();
        for id in candidates {
            let mut shard = self.shard(id);
            let (expired, still_waiting) = match shard.get(&id) {
                Some(Slot::Open(open)) => {
                    let inbox = lock(&open.order);
                    (
                        inbox.gap_expired(now, self.limits.order_wait),
                        inbox.gap_since().is_some(),
                    )
                }
                _ => (false, false),
            };
            if expired {
                if let Some(slot) = shard.remove(&id) {
                    self.forget(Some(&slot));
                    gone.push((id, slot));
                }
            }
            drop(shard);
            if expired || !still_waiting {
                lock(&self.gaps).remove(&id);
            }
        }
        self.drop_all(gone, now)
    }

    /// After slots left the table: each session whose records wait for a missing one
    /// answers with its Close, then each is ended. Returns how many.
    fn drop_all(&self, gone: Vec<(u64, Slot)>, now: UnixTime) -> usize {
        let dropped = gone.len();
        for (id, slot) in gone {
            if let Slot::Open(open) = &slot {
                self.answer_gap(id, open, now);
            }
            self.ended(id, Some(slot));
        }
        dropped
    }

    /// A session dropped while records wait for a missing one: the first waiting record
    /// is answered with the enclave's Close saying how many records arrived in sequence,
    /// so the client learns, authenticated, why its session ended.
    fn answer_gap(&self, id: u64, open: &OpenSession, now: UnixTime) {
        let waiting = lock(&open.order).end();
        let Some(first) = waiting.into_iter().next() else {
            return;
        };
        let close = lock(&open.session).seal_close(now, CloseReason::SequenceError);
        match close {
            Ok(record) => {
                tracing::info!(session = id, "a client record never came: ending the session");
                first.reply.send(Response::App { record });
            }
            Err(e) => first.reply.send(refusal(&EnclaveError::Record(e))),
        }
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::thread;
    use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
    use sc_protocol::{ClientConfig, ClientHandshake, Session};
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    fn manager(limits: EnclaveLimits) -> Arc<SessionManager> {
        let attester = Arc::new(TestDoubleAttester::new([1; 32], [2; 32]));
        attester.set_time(NOW);
        let config = EnclaveConfig::builder().attester(attester).build().unwrap();
        Arc::new(SessionManager::new(config, None, limits).with_seed(1))
    }

    fn hello(seed: u64) -> (ClientHandshake, Vec<u8>) {
        let client = Arc::new(
            ClientConfig::builder()
                .verifier(Arc::new(TestDoubleVerifier::new([1; 32], &[[2; 32]])))
                .build()
                .unwrap(),
        );
        ClientHandshake::start(
            client,
            &mut <rand_chacha::ChaCha20Rng as SeedableRng>::seed_from_u64(seed),
            NOW,
        )
        .unwrap()
    }

    fn establish(m: &SessionManager, seed: u64) -> Session {
        let (hs, ch) = hello(seed);
        let ChannelOutcome::Accepted { server_hello, .. } = m.handle_channel(&ch, NOW).unwrap() else {
            panic!("refused")
        };
        let est = hs.read_server_hello(&server_hello, NOW).unwrap();
        m.handle_channel(&est.client_finished, NOW).unwrap();
        est.session
    }

    fn explore(f: impl Fn() + Sync + Send + 'static) -> usize {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        RUNS.store(0, StdOrdering::SeqCst);
        loom::model(move || {
            RUNS.fetch_add(1, StdOrdering::SeqCst);
            f();
        });
        RUNS.load(StdOrdering::SeqCst)
    }

    /// A session used, closed and expired at once: the counts stay exact (nothing is
    /// dropped twice), a use after the removal fails, and nothing deadlocks.
    #[test]
    fn a_session_is_never_both_closed_and_used() {
        let runs = explore(|| {
            let m = manager(EnclaveLimits {
                idle_timeout: std::time::Duration::from_secs(60),
                ..EnclaveLimits::default()
            });
            let session = establish(&m, 1);
            let id = session.id();
            let user = {
                let m = m.clone();
                // Before the drop it succeeds, after it fails: either is right.
                thread::spawn(move || drop(m.encrypt(id, b"x", NOW)))
            };
            let closer = {
                let m = m.clone();
                thread::spawn(move || m.remove(id))
            };
            let expired = m.expire(NOW.saturating_add(std::time::Duration::from_secs(61)));
            user.join().unwrap();
            let closed = closer.join().unwrap();
            // Exactly one of the closer and the sweep dropped it.
            assert_eq!(usize::from(closed) + expired, 1);
            assert_eq!((m.open_sessions(), m.pending_handshakes()), (0, 0));
            assert!(m.encrypt(id, b"x", NOW).is_err(), "used after it was dropped");
        });
        eprintln!("loom: {runs} interleavings");
        assert!(runs > 1);
    }

    /// Three hellos at once with room for two: exactly two are accepted.
    #[test]
    fn concurrent_hellos_never_overshoot_the_capacity() {
        let runs = explore(|| {
            let m = manager(EnclaveLimits {
                max_pending: 2,
                ..EnclaveLimits::default()
            });
            let (_, a) = hello(1);
            let (_, b) = hello(2);
            let (_, c) = hello(3);
            let threads: Vec<_> = [a, b]
                .into_iter()
                .map(|h| {
                    let m = m.clone();
                    thread::spawn(move || matches!(m.handle_channel(&h, NOW), Ok(ChannelOutcome::Accepted { .. })))
                })
                .collect();
            let third = matches!(m.handle_channel(&c, NOW), Ok(ChannelOutcome::Accepted { .. }));
            let accepted = threads
                .into_iter()
                .map(|t| usize::from(t.join().unwrap()))
                .sum::<usize>()
                + usize::from(third);
            assert_eq!(accepted, 2);
            assert_eq!(m.pending_handshakes(), 2);
        });
        eprintln!("loom: {runs} interleavings");
        assert!(runs > 1);
    }
}
