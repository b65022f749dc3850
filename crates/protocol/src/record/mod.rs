//! Record protection for an established session: directional keys per epoch, sequence
//! numbers in the authenticated header, nonces derived from them, records accepted strictly
//! in sequence, automatic key update and session expiry.

mod keys;
mod session;

pub use session::{Incoming, Role, Session};
