//! The host/enclave contract: every call the host may make, every answer the enclave may
//! give, and every refusal code. Both sides build on these types alone (the wire form is
//! in [`crate::wire`]), so this file is the one place that says what crosses.
//!
//! | call | answer |
//! |---|---|
//! | [`Request::Channel`] with a ClientHello | [`ChannelOutcome::Accepted`] (the new session id and the ServerHello) or [`ChannelOutcome::Refused`] (an alert for the client) |
//! | [`Request::Channel`] with a ClientFinished | [`ChannelOutcome::Established`] (with the SessionAck on an acknowledged session) or [`ChannelOutcome::Refused`] |
//! | [`Request::Channel`] with a Close record | [`ChannelOutcome::Closed`] (with the enclave's own Close on an acknowledged session) |
//! | [`Request::App`] | [`Response::App`], the reply record |
//! | [`Request::CloseSession`] | [`Response::Done`] |
//! | [`Request::Evidence`] | [`Response::Evidence`]: fresh evidence over the probe report data |
//! | [`Request::Credit`] | none (one-way): the enclave may push this many more bytes for the session |
//! | [`Request::EndSession`] | [`ChannelOutcome::Closed`] with the enclave's own Close for the client; the session gone |
//!
//! Any call may instead be answered with [`Response::Error`], whose [`ErrorCode`] says
//! what kind of refusal it is. An application call on a stream session may be answered
//! with [`Response::Done`]: nothing to send back (its data went to the enclave's backend).
//!
//! And one message the enclave sends on its own: a [`Push`], a record for a stream
//! session's client that answers no call (a tunnel's backend wrote). The host grants it
//! room with [`Request::Credit`] as the client reads, so a slow client stops the enclave's
//! pushes instead of growing the host's buffers. The host learns a handshake's session id and outcome from
//! the answer; it never parses handshake messages (it reads frame headers and session ids
//! only, as docs/PROTOCOL.md promises).

/// The call id of a one-way call (no answer is written).
pub const ONE_WAY: u64 = 0;

/// Largest call frame (a maximal record plus headers).
pub const MAX_CALL_LEN: usize = sc_protocol::msgs::MAX_FRAME_BODY + 64;

/// A call from the host into the enclave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Handle one channel message from a client (handshake, close).
    Channel {
        /// The frame as received.
        message: Vec<u8>,
    },
    /// Run application function `function` on a request record of `session_id`; the
    /// answer is a reply record of the same session.
    App {
        /// The session.
        session_id: u64,
        /// Application-defined function number.
        function: u32,
        /// The client's record.
        record: Vec<u8>,
    },
    /// Forget a session (its client disconnected).
    CloseSession {
        /// The session.
        session_id: u64,
    },
    /// Room for `bytes` more bytes of pushed records on stream session `session_id`
    /// (sent one-way as the host writes pushed records to the client).
    Credit {
        /// The session.
        session_id: u64,
        /// Bytes of records (headers and tags included).
        bytes: u32,
    },
    /// End a session from the enclave's side (the host is shutting down): the enclave
    /// seals its own Close for the client and drops the session.
    EndSession {
        /// The session.
        session_id: u64,
    },
    /// Attest now, over `sc_protocol::binding::probe_report_data(nonce)` (never over
    /// report data the host chooses: that would let the host forge a handshake's
    /// binding). For writing a client policy from the running enclave and for readiness.
    Evidence {
        /// The host's nonce (freshness of the answer).
        nonce: [u8; 32],
    },
}

/// The enclave's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// What became of a channel message.
    Channel(ChannelOutcome),
    /// The reply record of an application call.
    App {
        /// The record to send to the client.
        record: Vec<u8>,
    },
    /// Done, nothing to return.
    Done,
    /// The enclave's evidence for an [`Request::Evidence`] probe.
    Evidence(ProbeEvidence),
    /// The call was refused.
    Error(CallError),
}

/// A record the enclave sends on its own for a stream session's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The session.
    pub session_id: u64,
    /// The record, sealed for the client.
    pub record: Vec<u8>,
}

/// Bytes of pushed records the enclave may send for one stream session before the host
/// grants more with [`Request::Credit`]: the window both sides start from.
pub const PUSH_WINDOW: u32 = 128 * 1024;

/// Where the host takes pushed records. Called on the transport's reader thread: it must
/// not block (queue the record and return).
pub type PushSink = std::sync::Arc<dyn Fn(Push) + Send + Sync>;

/// Evidence a running enclave produced for a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeEvidence {
    /// The platform (as in the handshake's evidence extension).
    pub platform: sc_protocol::PlatformId,
    /// The evidence, in the platform's native format.
    pub evidence: Vec<u8>,
    /// Collateral the attester sends beside it (an SEV-SNP certificate table), if any.
    pub collateral: Option<Vec<u8>>,
}

/// What the enclave made of a channel message, stated so that the host need not infer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelOutcome {
    /// The ClientHello was accepted: handshake `session_id` waits for its ClientFinished.
    Accepted {
        /// The session id the enclave chose.
        session_id: u64,
        /// The ServerHello, for the client.
        server_hello: Vec<u8>,
    },
    /// The ClientFinished verified: the session is established.
    Established {
        /// The SessionAck, for the client, on an acknowledged session.
        ack: Option<Vec<u8>>,
    },
    /// The handshake message was refused; the handshake (if any) is gone.
    Refused {
        /// The alert, for the client.
        alert: Vec<u8>,
    },
    /// The client's Close was accepted and the session is gone.
    Closed {
        /// The enclave's own Close, for the client, on an acknowledged session.
        reply: Option<Vec<u8>>,
    },
}

/// Why the enclave refused a call. The numbers are the wire form and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u16)]
pub enum ErrorCode {
    /// A failure the enclave has no code for (also: a code this host does not know).
    Internal = 0,
    /// The call frame could not be decoded.
    MalformedCall = 1,
    /// No session with this id (never existed, closed, or expired).
    UnknownSession = 2,
    /// Session or pending-handshake capacity reached.
    Busy = 3,
    /// A handshake failed.
    Handshake = 4,
    /// A record was rejected (authentication, replay, epoch, size).
    Record = 5,
    /// The message is not one the enclave handles in this call (application data outside
    /// an application call, a server-side message).
    UnexpectedMessage = 6,
    /// Attestation evidence could not be produced.
    Attestation = 7,
    /// An application function reported failure.
    Application = 8,
    /// No application function has this number.
    NoSuchFunction = 9,
    /// The answer would exceed [`MAX_CALL_LEN`].
    TooLarge = 10,
}

impl ErrorCode {
    /// The code for a wire value; values this build does not know are [`ErrorCode::Internal`].
    pub fn from_u16(code: u16) -> Self {
        match code {
            1 => Self::MalformedCall,
            2 => Self::UnknownSession,
            3 => Self::Busy,
            4 => Self::Handshake,
            5 => Self::Record,
            6 => Self::UnexpectedMessage,
            7 => Self::Attestation,
            8 => Self::Application,
            9 => Self::NoSuchFunction,
            10 => Self::TooLarge,
            _ => Self::Internal,
        }
    }

    /// The wire value.
    pub fn as_u16(self) -> u16 {
        self as u16
    }
}

/// A refusal by the enclave: its kind and a text (never secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enclave refused the call ({code:?}): {message}")]
pub struct CallError {
    /// The kind of refusal.
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
}

impl CallError {
    /// A refusal of kind `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
