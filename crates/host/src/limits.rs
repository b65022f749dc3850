//! What the host lets a client take, in amount and in time. Every default here is listed,
//! with how to set it, in docs/OPERATIONS.md.

use std::time::Duration;

/// Host-side limits and deadlines. Each refusal is its own [`HostError`](crate::HostError).
///
/// Why so many: the host is the one part of the system any anonymous peer can reach, and
/// before the handshake completes it knows nothing about that peer. Every resource such a
/// peer can hold (a connection, a pending handshake in the enclave, buffered bytes, a
/// timer) is capped here, and every wait has a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Largest channel message accepted from an established client (whole frame).
    pub max_message: usize,
    /// Largest handshake message (ClientHello, ClientFinished): far smaller than a record,
    /// and checked against the frame header before the body is read.
    pub max_client_hello: usize,
    /// Established sessions at most.
    pub max_sessions: usize,
    /// Handshakes in progress at most. When full, the oldest pending handshake is evicted
    /// to make room, so a flood cannot pin every slot.
    pub max_pending: usize,
    /// Handshakes in progress from one source address (IPv6: one /64) at most; over it the
    /// source is refused with a busy alert (no eviction: it would only evict itself).
    pub max_pending_per_source: usize,
    /// Open client connections at most (network servers). When full, the oldest connection
    /// that has not finished its handshake is evicted; if none has, the new one is refused.
    pub max_connections: usize,
    /// Open client connections from one source address (IPv6: one /64) at most.
    pub max_connections_per_source: usize,
    /// From a connection's arrival to its ClientFinished (the whole handshake).
    pub handshake_timeout: Duration,
    /// From a frame's first byte to its last (a slow sender cannot hold a buffer open).
    pub frame_timeout: Duration,
    /// Established connections idle this long are dropped (with their session).
    pub idle_timeout: Duration,
    /// Bytes of client messages held by the host at once, over all connections: read
    /// buffers and records waiting at the enclave. A reader that would exceed it waits
    /// (within its frame deadline).
    pub message_budget: usize,
    /// The application function that client data records are sent to.
    pub data_function: u32,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            max_message: 1024 * 1024 + 64,
            max_client_hello: 16 * 1024,
            max_sessions: 100_000,
            max_pending: 1024,
            max_pending_per_source: 128,
            max_connections: 16_384,
            max_connections_per_source: 1_024,
            handshake_timeout: Duration::from_secs(10),
            frame_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5 * 60),
            message_budget: 64 * 1024 * 1024,
            data_function: 1,
        }
    }
}

/// Raises the soft limit on open descriptors to the hard limit (each connection holds
/// one); returns `(soft, hard)` as they are afterwards. Call it once at start-up and log
/// the result: a server left at a soft limit of 1,024 refuses clients long before its
/// connection cap.
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < hard {
        rlimit::Resource::NOFILE.set(hard, hard)?;
    }
    rlimit::Resource::NOFILE.get()
}
