//! The blocking client: init, callback, encrypt, decrypt, finish.

use crate::error::ClientError;
use rand_core::OsRng;
use sc_protocol::UnixTime;
use sc_protocol::{Claims, ClientConfig, ClientHandshake, Incoming, RecordError, Session};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How the client sends one channel message (the application's connection).
pub trait SendHook: Send + Sync {
    /// Sends `message` to the server. The application may feed the reply to
    /// [`Client::callback`] from inside this call.
    fn send(&self, message: &[u8]) -> std::io::Result<()>;
}

impl<F: Fn(&[u8]) -> std::io::Result<()> + Send + Sync> SendHook for F {
    fn send(&self, message: &[u8]) -> std::io::Result<()> {
        self(message)
    }
}

enum State {
    Idle,
    Waiting(ClientHandshake),
    /// Established; the Finished still has to go out (from the init thread), and on an
    /// acknowledged session the enclave's SessionAck has yet to come.
    Established {
        session: Box<Session>,
        finished: Option<Vec<u8>>,
        awaiting_ack: bool,
    },
    /// The handshake failed: the typed error, when it was a protocol failure.
    Failed(Option<sc_protocol::Error>),
    Finished,
}

/// A secure-channel client bound to one connection.
pub struct Client {
    config: Arc<ClientConfig>,
    hook: Box<dyn SendHook>,
    timeout: Duration,
    state: Mutex<State>,
    changed: Condvar,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session_id", &self.session_id())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client sending through `hook`; `init` waits at most `timeout` for the reply.
    pub fn new(config: Arc<ClientConfig>, hook: Box<dyn SendHook>, timeout: Duration) -> Self {
        Self {
            config,
            hook,
            timeout,
            state: Mutex::new(State::Idle),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the handshake: sends the ClientHello, waits for the reply to be fed to
    /// [`Client::callback`], sends the ClientFinished. The channel is then ready.
    pub fn init(&self) -> Result<(), ClientError> {
        let client_hello = {
            let mut state = self.lock();
            if !matches!(*state, State::Idle) {
                return Err(ClientError::AlreadyStarted);
            }
            let (handshake, hello) = ClientHandshake::start(self.config.clone(), &mut OsRng, UnixTime::now())?;
            *state = State::Waiting(handshake);
            hello
        };
        // One deadline for the whole handshake, from before the hello goes out: a hook that
        // reads the reply itself (and waits up to its own timeout) does not restart it.
        let deadline = Instant::now() + self.timeout;
        // No lock is held here: the hook may call `callback` on this very thread.
        if let Err(e) = self.hook.send(&client_hello) {
            *self.lock() = State::Failed(None);
            return Err(e.into());
        }
        let mut state = self.wait_while(deadline, |s| matches!(s, State::Waiting(_)))?;
        let finished = match &mut *state {
            State::Established { finished, .. } => finished.take(),
            State::Failed(Some(e)) => return Err(e.clone().into()),
            State::Failed(None) => return Err(ClientError::ConnectionClosed),
            _ => return Err(ClientError::NotEstablished),
        };
        drop(state);
        if let Some(f) = finished {
            if let Err(e) = self.hook.send(&f) {
                *self.lock() = State::Failed(None);
                return Err(e.into());
            }
        }
        // An acknowledged session is ready once the enclave's SessionAck is in.
        let state = self.wait_while(deadline, |s| matches!(s, State::Established { awaiting_ack: true, .. }))?;
        match &*state {
            State::Established { .. } => Ok(()),
            State::Failed(Some(e)) => Err(e.clone().into()),
            State::Failed(None) => Err(ClientError::ConnectionClosed),
            _ => Err(ClientError::NotEstablished),
        }
    }

    /// Waits until `waiting` no longer holds of the state, or fails the handshake at
    /// `deadline`.
    fn wait_while(
        &self,
        deadline: Instant,
        waiting: impl Fn(&State) -> bool,
    ) -> Result<MutexGuard<'_, State>, ClientError> {
        let mut state = self.lock();
        while waiting(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                *state = State::Failed(None);
                return Err(ClientError::HandshakeTimeout);
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(state)
    }

    /// Whether the handshake still waits for a message from the server: the ServerHello,
    /// or on an acknowledged session the SessionAck. A transport that reads one reply per
    /// message asks this after sending.
    pub fn awaits_reply(&self) -> bool {
        matches!(
            *self.lock(),
            State::Waiting(_) | State::Established { awaiting_ack: true, .. }
        )
    }

    /// Feeds one channel message received from the server (during the handshake: the
    /// ServerHello, and on an acknowledged session the SessionAck).
    pub fn callback(&self, message: &[u8]) -> Result<(), ClientError> {
        let mut state = self.lock();
        if let State::Established {
            session,
            awaiting_ack: awaiting @ true,
            ..
        } = &mut *state
        {
            let outcome = match session.open_ack(UnixTime::now(), message) {
                Ok(()) => {
                    *awaiting = false;
                    Ok(())
                }
                Err(e) => {
                    // An alert here is the enclave refusing the Finished.
                    let error = crate::error::peer_alert(message).unwrap_or(sc_protocol::Error::Acknowledgement(e));
                    *state = State::Failed(Some(error.clone()));
                    Err(error.into())
                }
            };
            drop(state);
            self.changed.notify_all();
            return outcome;
        }
        let handshake = match std::mem::replace(&mut *state, State::Idle) {
            State::Waiting(handshake) => handshake,
            other => {
                *state = other;
                return Err(ClientError::UnexpectedReply);
            }
        };
        let outcome = match handshake.read_server_hello(message, UnixTime::now()) {
            Ok(est) => {
                let awaiting_ack = est.session.acknowledged();
                *state = State::Established {
                    session: Box::new(est.session),
                    finished: Some(est.client_finished),
                    awaiting_ack,
                };
                Ok(())
            }
            Err(e) => {
                *state = State::Failed(Some(e.clone()));
                Err(e.into())
            }
        };
        drop(state);
        self.changed.notify_all();
        outcome
    }

    /// Tells a waiting [`Client::init`] that the connection is gone (the receive path hit
    /// end of stream or an error), so it fails at once instead of waiting out its timeout.
    pub fn connection_lost(&self) {
        self.fail_waiting(None);
    }

    /// Tells a waiting [`Client::init`] why reading the server's reply failed: a frame it
    /// could not read (another wire version, oversize) fails it as a protocol error, end of
    /// stream or a reset as a closed connection. A read that timed out changes nothing
    /// (`init` keeps its own deadline).
    pub fn connection_failed(&self, error: &std::io::Error) {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted => {}
            ErrorKind::InvalidData => {
                self.fail_waiting(crate::error::decode_error_in(error).map(sc_protocol::Error::Decode));
            }
            _ => self.fail_waiting(None),
        }
    }

    fn fail_waiting(&self, cause: Option<sc_protocol::Error>) {
        let mut state = self.lock();
        if matches!(
            *state,
            State::Waiting(_) | State::Established { awaiting_ack: true, .. }
        ) {
            *state = State::Failed(cause);
            drop(state);
            self.changed.notify_all();
        }
    }

    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T, RecordError>) -> Result<T, ClientError> {
        match &mut *self.lock() {
            State::Established { session, .. } => Ok(f(session)?),
            _ => Err(ClientError::NotEstablished),
        }
    }

    /// Encrypts application data into a record for the server.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.with_session(|s| s.seal(UnixTime::now(), plaintext))
    }

    /// Seals this side's EndOfStream (a half-close, on a stream session): no more data
    /// from the client; the server's data still comes. Send the record to the server.
    pub fn end_stream(&self) -> Result<Vec<u8>, ClientError> {
        self.with_session(|s| s.seal_end_of_stream(UnixTime::now()))
    }

    /// Decrypts a record from the server.
    pub fn decrypt(&self, record: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.with_session(|s| s.open(UnixTime::now(), record))
    }

    /// Encrypts into a caller buffer (at least [`Session::record_len`] of the plaintext's
    /// length); returns the record's length. No allocation.
    pub fn encrypt_into(&self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, ClientError> {
        self.with_session(|s| s.seal_into(UnixTime::now(), plaintext, out))
    }

    /// Decrypts a record from the server into `out`, which must hold the record's
    /// plaintext (its length less [`Session::record_len`]`(0)`); returns the plaintext's
    /// length. A refused record leaves the session unchanged.
    pub fn decrypt_into(&self, record: &[u8], out: &mut [u8]) -> Result<usize, ClientError> {
        let needed = record.len().saturating_sub(Session::record_len(0));
        if out.len() < needed {
            return Err(RecordError::OutputTooSmall { needed }.into());
        }
        let mut buf = record.to_vec();
        let len = self.with_session(|s| match s.open_in_place(UnixTime::now(), &mut buf)? {
            Incoming::Data(p) => {
                out[..p.len()].copy_from_slice(p);
                Ok(p.len())
            }
            Incoming::Close(close) => Err(RecordError::PeerClosed(close)),
            // Stream sessions only (the client asked for them): the enclave's half-close.
            Incoming::EndOfStream { .. } => Err(RecordError::StreamEnded),
        })?;
        Ok(len)
    }

    /// Seals this side's Close (reason Normal, with the count of the enclave's records
    /// accepted) without forgetting the session: send it to the server. Sealing is closed
    /// afterwards.
    pub fn close_record(&self) -> Result<Vec<u8>, ClientError> {
        self.with_session(|s| s.seal_close(UnixTime::now(), sc_protocol::msgs::CloseReason::Normal))
    }

    /// Tells the server to drop the session, then forgets it locally.
    pub fn finish(&self) -> Result<(), ClientError> {
        let close = self.close_record()?;
        *self.lock() = State::Finished;
        self.hook.send(&close)?;
        Ok(())
    }

    /// How many records this client has sealed (the sequence number of the next): a
    /// request sent now goes in record number `records_sent()`.
    pub fn records_sent(&self) -> Option<u64> {
        match &*self.lock() {
            State::Established { session, .. } => Some(session.sent()),
            _ => None,
        }
    }

    /// The session id, once established.
    pub fn session_id(&self) -> Option<u64> {
        match &*self.lock() {
            State::Established { session, .. } => Some(session.id()),
            _ => None,
        }
    }

    /// The enclave's verified claims, once established.
    pub fn peer_claims(&self) -> Option<Claims> {
        match &*self.lock() {
            State::Established { session, .. } => session.peer_claims().cloned(),
            _ => None,
        }
    }
}
