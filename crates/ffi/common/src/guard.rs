//! Nothing unwinds into C: every exported function runs inside [`guarded`].

use crate::status::cc_enclave_result_t;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; a panic becomes `CC_ERROR_GENERIC` instead of unwinding across the C ABI.
/// (Library state is shared through `Arc`s and poison-tolerant locks, so a contained panic
/// leaves it usable.)
pub fn guarded(f: impl FnOnce() -> cc_enclave_result_t) -> cc_enclave_result_t {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(cc_enclave_result_t::CC_ERROR_GENERIC)
}

/// [`guarded`] for functions without a result (fini): a panic is contained and dropped.
pub fn guarded_void(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}
