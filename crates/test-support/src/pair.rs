//! A client and an enclave handshaking in memory with fixed parameters: every run with the
//! same seed is identical, and each message passes through a hook where a test, in the
//! untrusted host's position, may rewrite it.

use crate::double::{NOW, client_config, enclave_config, rng};
use sc_protocol::{
    BindingMode, CipherSuite, ClientConfig, ClientHandshake, EnclaveConfig, EnclaveHandshake, Session, SessionLimits,
};
use std::sync::Arc;

/// The three handshake messages of one run.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// The ClientHello as the client sent it.
    pub client_hello: Vec<u8>,
    /// The ServerHello as the enclave sent it.
    pub server_hello: Vec<u8>,
    /// The ClientFinished as the client sent it.
    pub client_finished: Vec<u8>,
}

/// A client/enclave pair with fixed parameters; every run with the same seed is identical.
#[derive(Debug)]
pub struct Pair {
    /// The client's configuration.
    pub client: Arc<ClientConfig>,
    /// The enclave's configuration.
    pub enclave: EnclaveConfig,
    /// Seeds the client's generator (the enclave's is `seed + 1000`).
    pub seed: u64,
    /// The session id the enclave assigns.
    pub session_id: u64,
}

impl Pair {
    /// A pair that agrees on `suite` and `mode`.
    pub fn new(suite: CipherSuite, mode: BindingMode) -> Self {
        Self::with_limits(suite, mode, SessionLimits::default())
    }

    /// A pair that agrees on `suite` and `mode`, with session `limits` on both sides.
    pub fn with_limits(suite: CipherSuite, mode: BindingMode, limits: SessionLimits) -> Self {
        Self {
            client: client_config(&[suite], &[mode], limits),
            enclave: enclave_config(&[mode], limits),
            seed: 7,
            session_id: 0x0102_0304_0506_0708,
        }
    }

    /// A full handshake; returns (client session, enclave session, messages).
    pub fn handshake(&self) -> (Session, Session, Transcript) {
        self.run(|_, m| m.to_vec(), |_, m| m.to_vec(), |_, m| m.to_vec())
            .unwrap()
    }

    /// A handshake whose three messages pass through the given tamper functions (the
    /// untrusted host). Returns the first error from either side.
    pub fn run(
        &self,
        ch: impl Fn(usize, &[u8]) -> Vec<u8>,
        sh: impl Fn(usize, &[u8]) -> Vec<u8>,
        cf: impl Fn(usize, &[u8]) -> Vec<u8>,
    ) -> Result<(Session, Session, Transcript), sc_protocol::Error> {
        let mut crng = rng(self.seed);
        let mut erng = rng(self.seed + 1000);
        let (hs, client_hello) = ClientHandshake::start(self.client.clone(), &mut crng, NOW)?;
        let (pending, server_hello) =
            EnclaveHandshake::accept(&self.enclave, self.session_id, &ch(0, &client_hello), &mut erng, NOW)?;
        let established = hs.read_server_hello(&sh(1, &server_hello), NOW)?;
        let enclave = pending.read_client_finished(&cf(2, &established.client_finished), NOW)?;
        Ok((
            established.session,
            enclave,
            Transcript {
                client_hello,
                server_hello,
                client_finished: established.client_finished,
            },
        ))
    }
}
