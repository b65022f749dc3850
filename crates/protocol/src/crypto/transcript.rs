//! The running transcript hash: `u32 len(ClientHello body) | ClientHello body |
//! ServerHello body prefix...`. Snapshots are taken at the section boundaries.

use crate::suite::HashAlgorithm;
use ring::digest;

pub(crate) struct Transcript {
    ctx: digest::Context,
}

impl Transcript {
    /// Starts a transcript with the ClientHello body.
    pub(crate) fn new(hash: HashAlgorithm, client_hello_body: &[u8]) -> Self {
        let mut ctx = digest::Context::new(hash.digest());
        ctx.update(&(client_hello_body.len() as u32).to_be_bytes());
        ctx.update(client_hello_body);
        Self { ctx }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.ctx.update(bytes);
    }

    /// The hash of everything absorbed so far.
    pub(crate) fn current(&self) -> digest::Digest {
        self.ctx.clone().finish()
    }
}
