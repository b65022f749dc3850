//! A relay for applications whose connections the library never sees. The C interface is
//! one: `cc_sec_chl_svr_callback` is handed one message and a way to answer, not a
//! connection. Each ClientHello therefore opens a route of its own, and later messages find
//! their route by the session id in their frame. The per-route checks of [`Host`] (state
//! order, limits, sizes) apply unchanged.

use crate::ConnId;
use crate::relay::{Host, HostError, Routed};
use sc_protocol::msgs::{FRAME_HEADER_LEN, Frame, MessageType};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Routes by session id over a shared [`Host`].
#[derive(Debug)]
pub struct SessionRoutes {
    host: Arc<Host>,
    routes: Mutex<HashMap<u64, ConnId>>,
}

impl SessionRoutes {
    /// Routes over `host`.
    pub fn new(host: Arc<Host>) -> Self {
        Self {
            host,
            routes: Mutex::new(HashMap::new()),
        }
    }

    /// The relay underneath.
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    fn routes(&self) -> MutexGuard<'_, HashMap<u64, ConnId>> {
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Handles one channel message from some client and says what to send back to it.
    pub fn handle(&self, message: &[u8]) -> Result<Routed, HostError> {
        let max_body = self.host.limits().max_message.saturating_sub(FRAME_HEADER_LEN);
        let frame = Frame::parse(message, max_body)?;
        if frame.msg_type == MessageType::ClientHello {
            return self.hello(message);
        }
        let session = frame
            .session_id()
            .ok_or(HostError::OutOfPlace("message carries no session id"))?;
        let conn = *self.routes().get(&session).ok_or(HostError::UnknownSession)?;
        let routed = match frame.msg_type {
            // Clients of this interface read a reply to every message: a Close waits for
            // the enclave's answer.
            MessageType::Close => self.host.close_answered(conn, message.to_vec()),
            _ => self.host.handle(conn, message),
        };
        let ended = match &routed {
            Ok(Routed::Closed | Routed::ClosedWithReply(_)) | Err(HostError::UnknownConnection) => true,
            // A refused ClientFinished leaves the route without a session: it is over.
            _ => self.host.session(conn).is_none(),
        };
        if ended {
            self.routes().remove(&session);
            self.host.disconnect(conn);
        }
        match routed {
            Err(HostError::UnknownConnection) => Err(HostError::UnknownSession),
            other => other,
        }
    }

    fn hello(&self, message: &[u8]) -> Result<Routed, HostError> {
        let conn = self.host.connect();
        let routed = self.host.handle(conn, message);
        // The session id the enclave stated when it accepted the hello (none if refused).
        match self.host.session(conn) {
            Some(id) => {
                self.routes().insert(id, conn);
            }
            None => self.host.disconnect(conn),
        }
        routed
    }

    /// Tells the enclave to drop `session` and forgets its route (a client that went away
    /// without closing). Returns whether the session was routed here.
    pub fn drop_session(&self, session: u64) -> bool {
        let conn = self.routes().remove(&session);
        if let Some(c) = conn {
            self.host.disconnect(c);
        }
        conn.is_some()
    }

    /// Drops handshakes past the host's handshake deadline and routes idle longer than its
    /// idle timeout, with their sessions. Returns how many.
    pub fn expire(&self, now: Instant) -> usize {
        let dropped = self.host.expire(now);
        self.routes().retain(|_, c| self.host.knows(*c));
        dropped
    }

    /// Established routes (sessions and handshakes in progress).
    pub fn len(&self) -> usize {
        self.routes().len()
    }

    /// Whether no route is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Destroys every session and forgets every route.
    pub fn fini(&self) {
        self.routes().clear();
        self.host.fini();
    }
}
