//! The shared stack (sc-test-support) with this crate's `secure-channel` binary as the
//! enclave program.
#![allow(dead_code, unused_imports)]

pub use sc_test_support::eventually;
pub use sc_test_support::sim;
pub use sc_test_support::stack::Stack;
use std::path::PathBuf;

pub fn enclave_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_secure-channel"))
}

/// The real stack: `secure-channel enclave` as its own process, the host, the server.
pub fn stack() -> Stack {
    Stack::start(&enclave_exe())
}
