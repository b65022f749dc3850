//! The synchronization primitives of the call table: std's, or loom's when the crate is
//! built for model checking (`--cfg loom`).

#[cfg(loom)]
pub(super) use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
pub(super) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(super) use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
pub(super) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
