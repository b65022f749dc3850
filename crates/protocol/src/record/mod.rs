//! Record protection for an established session: directional keys per epoch, sequence
//! numbers in the authenticated header, nonces derived from them, a sliding replay window,
//! automatic key update and session expiry.

mod keys;
mod replay;
mod session;

pub use replay::{REPLAY_WINDOW, ReplayWindow};
pub use session::{Incoming, Role, Session};
