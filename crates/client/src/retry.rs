//! A TCP client that rides over server restarts, drains and load-balancer failovers: it
//! connects again (a new handshake, a new attestation) when the server is busy, draining,
//! restarting or gone, within a bounded number of attempts with jittered exponential
//! backoff.
//!
//! Requests are resent only when that cannot run them twice: after the enclave's own
//! Close arrived before their reply *and* names a received count at or below the
//! request's record number (the Close proves that record never reached the enclave; a
//! host that ran the request, dropped the reply and asked the enclave to close gets a
//! Close that counts the request, and the request is not resent), or when the caller
//! marks them idempotent ([`RetryingClient::request_idempotent`]).
//! A request whose fate is unknown (the connection broke after it was sent) is otherwise
//! reported with the error that ended it, never silently resent.
//!
//! ```no_run
//! use sc_client::{ClientTimeouts, RetryPolicy, RetryingClient};
//! # fn config() -> std::sync::Arc<sc_protocol::ClientConfig> { unimplemented!() }
//! let mut client = RetryingClient::connect("lb.example:7000", config(), ClientTimeouts::default(), RetryPolicy::default())?;
//! let reply = client.request_idempotent(b"1,2,3")?;
//! # Ok::<(), sc_client::ClientError>(())
//! ```

use crate::error::ClientError;
use crate::tcp::{ClientTimeouts, TcpClient};
use rand_core::RngCore;
use sc_protocol::ClientConfig;
use std::sync::Arc;
use std::time::Duration;

/// How a [`RetryingClient`] retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts at most per operation (connecting, or one request), the first included.
    pub attempts: u32,
    /// The wait before the second attempt; it doubles for each later one.
    pub first_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, waits from 50 ms doubling up to 2 s (each drawn between half and all
    /// of it, so that clients turned away together do not come back together).
    fn default() -> Self {
        Self {
            attempts: 5,
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `n` (`n` ≥ 1: the second attempt is 1), jittered.
    fn backoff(&self, n: u32) -> Duration {
        let full = self
            .first_backoff
            .saturating_mul(1u32 << (n - 1).min(16))
            .min(self.max_backoff);
        let jitter = f64::from(rand_core::OsRng.next_u32()) / f64::from(u32::MAX);
        full.mul_f64(0.5 + jitter / 2.0)
    }
}

impl ClientError {
    /// Whether trying again on a new connection may succeed: the server was busy,
    /// draining, restarting or unreachable, or the connection broke. Refusals of the
    /// enclave itself (attestation, protocol, records) are final.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::ServerBusy
                | ClientError::HandshakeTimeout
                | ClientError::EnclaveUnavailable
                | ClientError::ConnectionClosed
                | ClientError::Connection(_)
                | ClientError::Send(_)
                | ClientError::SessionClosed { .. }
        )
    }
}

/// A channel that connects again when it must (see the module documentation).
#[derive(Debug)]
pub struct RetryingClient {
    addr: String,
    config: Arc<ClientConfig>,
    timeouts: ClientTimeouts,
    policy: RetryPolicy,
    current: Option<TcpClient>,
    connections: u64,
}

impl RetryingClient {
    /// Connects to `addr` (attesting the enclave), retrying transient failures.
    pub fn connect(
        addr: &str,
        config: Arc<ClientConfig>,
        timeouts: ClientTimeouts,
        policy: RetryPolicy,
    ) -> Result<Self, ClientError> {
        let mut c = Self {
            addr: addr.to_owned(),
            config,
            timeouts,
            policy,
            current: None,
            connections: 0,
        };
        c.channel()?;
        Ok(c)
    }

    /// The channel, connecting first if there is none.
    fn channel(&mut self) -> Result<&mut TcpClient, ClientError> {
        if self.current.is_none() {
            let mut attempt = 0;
            let client = loop {
                match TcpClient::connect_with(self.addr.as_str(), self.config.clone(), self.timeouts) {
                    Ok(c) => break c,
                    Err(e) if e.is_transient() && attempt + 1 < self.policy.attempts => {
                        attempt += 1;
                        std::thread::sleep(self.policy.backoff(attempt));
                    }
                    Err(e) => return Err(e),
                }
            };
            self.connections += 1;
            self.current = Some(client);
        }
        Ok(self.current.as_mut().expect("connected above"))
    }

    fn request_with(&mut self, request: &[u8], idempotent: bool) -> Result<Vec<u8>, ClientError> {
        let mut attempt = 0;
        loop {
            let channel = self.channel()?;
            // The record the request goes in: the enclave's Close proves it was not run
            // only if it counts fewer records than this number.
            let sequence = channel.client().records_sent().unwrap_or(u64::MAX);
            let e = match channel.request(request) {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            // The connection is done for, whatever happened.
            self.current = None;
            let safe = idempotent || e.proves_not_received(sequence);
            if !(safe && e.is_transient()) || attempt + 1 >= self.policy.attempts {
                return Err(e);
            }
            attempt += 1;
            std::thread::sleep(self.policy.backoff(attempt));
        }
    }

    /// Sends `request` and returns its reply. It is resent on a new connection only when
    /// provably not processed (see the module documentation).
    pub fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.request_with(request, false)
    }

    /// Like [`RetryingClient::request`], for a request that may run more than once: it is
    /// resent on a new connection after any transient failure.
    pub fn request_idempotent(&mut self, request: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.request_with(request, true)
    }

    /// Connections made so far (the first included): more than one means the client
    /// re-handshook.
    pub fn connections(&self) -> u64 {
        self.connections
    }

    /// The current channel, if connected.
    pub fn current(&self) -> Option<&TcpClient> {
        self.current.as_ref()
    }

    /// Closes the session (if one is open).
    pub fn close(mut self) -> Result<(), ClientError> {
        match self.current.take() {
            Some(c) => c.close(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_bounds_and_is_jittered() {
        let p = RetryPolicy::default();
        for n in 1..=10 {
            let full = (p.first_backoff * (1 << (n - 1))).min(p.max_backoff);
            let b = p.backoff(n);
            assert!(b >= full / 2 && b <= full, "attempt {n}: {b:?} outside {full:?}");
        }
        let draws: std::collections::HashSet<_> = (0..20).map(|_| p.backoff(3)).collect();
        assert!(draws.len() > 1, "no jitter");
    }

    #[test]
    fn only_server_side_conditions_are_transient() {
        assert!(ClientError::ServerBusy.is_transient());
        let closed = ClientError::SessionClosed {
            received: 3,
            reason: sc_protocol::msgs::CloseReason::Shutdown,
        };
        assert!(closed.is_transient());
        // The Close proves records 3 and later never arrived, and nothing about 0..3.
        assert!(closed.proves_not_received(3) && closed.proves_not_received(9));
        assert!(!closed.proves_not_received(2) && !closed.proves_not_received(0));
        assert!(!ClientError::ConnectionClosed.proves_not_received(5));
        assert!(ClientError::EnclaveUnavailable.is_transient());
        assert!(!ClientError::NotEstablished.is_transient());
        assert!(!ClientError::RequestTimeout(Duration::from_secs(1)).is_transient());
        assert!(!ClientError::Handshake(sc_protocol::Error::Timeout).is_transient());
    }
}
