//! Wire messages of protocol version 2, byte for byte as in docs/PROTOCOL.md.
//!
//! These types only encode and decode; meaning (what to accept, what to select) lives in
//! the handshake and record modules.
//!
//! What a role needs is public: frame headers and session ids ([`Frame`]), alerts, record
//! headers and the size limits. The handshake messages and extensions are internal to the
//! handshake; the `internals` feature exposes their codecs to tests and fuzzers only.

mod alert;
mod end;
mod extension;
mod frame;
mod handshake;
mod record;

pub use alert::{Alert, AlertCode};
pub use end::{CLOSE_BODY_LEN, CloseBody, CloseReason, END_OF_STREAM_BODY_LEN, decode_end_of_stream};
#[cfg(not(feature = "internals"))]
pub(crate) use extension::{Extension, ExtensionType, read_extensions};
#[cfg(feature = "internals")]
pub use extension::{Extension, ExtensionType, read_extensions, write_extensions};
pub(crate) use frame::frame;
pub use frame::{FRAME_HEADER_LEN, Frame, MessageType, WIRE_VERSION, frame_header};
#[cfg(not(feature = "internals"))]
pub(crate) use handshake::{ClientFinished, ClientHello, EvidenceField, IdentityKeyField, KeyShare, ServerHello};
#[cfg(feature = "internals")]
pub use handshake::{
    ClientFinished, ClientHello, EvidenceField, IdentityKeyField, KeyShare, ServerHello, ServerHelloOffsets,
};
pub use record::{RECORD_HEADER_LEN, RecordHeader};

/// Largest evidence blob a ServerHello may carry (real DCAP quotes with their PCK chain are
/// about 5 KiB; SNP reports with a VCEK chain about 6 KiB).
pub const MAX_EVIDENCE_LEN: usize = 256 * 1024;
/// Largest key share or identity public key.
pub const MAX_PUBLIC_KEY_LEN: usize = 256;
/// Largest signature.
pub const MAX_SIGNATURE_LEN: usize = 1024;
/// Largest Finished verify data (the longest hash output).
pub const MAX_FINISHED_LEN: usize = 64;
/// Hard protocol limit on a record's plaintext (configurations may set a lower one).
pub const MAX_RECORD_PLAINTEXT: usize = 16 * 1024 * 1024;
/// Hard protocol limit on a frame body: a maximal record plus its header and tag.
pub const MAX_FRAME_BODY: usize = MAX_RECORD_PLAINTEXT + RECORD_HEADER_LEN + 16;
