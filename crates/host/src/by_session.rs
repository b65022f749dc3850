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
        } else if frame.msg_type == MessageType::ClientFinished {
            // Nothing here can write to a client later, so what the enclave pushes for the
            // session has nowhere to go: not held (see `pushes`), dropped.
            self.host.unroute_pushes(session);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HostLimits;
    use sc_boundary::{ChannelOutcome, EnclaveService, InProcess, Request, Response};
    use sc_protocol::msgs::frame_header;

    const SESSION: u64 = 5;

    fn frame(msg_type: MessageType, rest: &[u8]) -> Vec<u8> {
        let mut body = SESSION.to_be_bytes().to_vec();
        body.extend_from_slice(rest);
        let mut f = frame_header(msg_type, body.len() as u32).to_vec();
        f.extend_from_slice(&body);
        f
    }

    /// Accepts any hello and finished by their frames alone (a stand-in enclave: the host
    /// never looks inside them).
    struct Stand;

    impl EnclaveService for Stand {
        fn call(&self, request: Request) -> Response {
            match request {
                Request::Channel { message } if message[0] == MessageType::ClientHello.code() => {
                    Response::Channel(ChannelOutcome::Accepted {
                        session_id: SESSION,
                        server_hello: frame(MessageType::ServerHello, b"hello"),
                    })
                }
                Request::Channel { .. } => Response::Channel(ChannelOutcome::Established { ack: None }),
                _ => Response::Done,
            }
        }
    }

    fn host() -> Arc<Host> {
        Arc::new(Host::new(
            Arc::new(InProcess::new(Arc::new(Stand))),
            HostLimits::default(),
        ))
    }

    fn hello() -> Vec<u8> {
        let mut h = frame_header(MessageType::ClientHello, 4).to_vec();
        h.extend_from_slice(b"ping");
        h
    }

    #[test]
    fn pushes_are_held_for_a_connection_but_not_where_nothing_can_write_later() {
        // A relay that owns its connections holds pushes until its writer routes them.
        let owned = host();
        let conn = owned.connect();
        owned.handle(conn, &hello()).unwrap();
        owned
            .handle(conn, &frame(MessageType::ClientFinished, &[0; 32]))
            .unwrap();
        assert!(owned.expects_pushes(SESSION));
        owned.disconnect(conn);
        assert!(!owned.expects_pushes(SESSION), "forgotten with the connection");

        // Routing by session (the C host library): nothing to write them to, none held.
        let routes = SessionRoutes::new(host());
        routes.handle(&hello()).unwrap();
        routes.handle(&frame(MessageType::ClientFinished, &[0; 32])).unwrap();
        assert_eq!(routes.len(), 1);
        assert!(!routes.host().expects_pushes(SESSION));
    }
}
