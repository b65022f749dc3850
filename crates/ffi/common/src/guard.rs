//! Nothing unwinds into C: every exported function runs inside [`guarded`].

use crate::last_error;
use crate::status::cc_enclave_result_t;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f` as one exported call: clears this thread's last error, and on failure leaves
/// a text for `cc_sec_chl_last_error` (the typed error's chain when `f` recorded one, else
/// the code's description). A panic becomes `CC_ERROR_SEC_CHL_PANIC`, with the panic's
/// message as the text, instead of unwinding across the C ABI. (Library state is shared
/// through `Arc`s and poison-tolerant locks, so a contained panic leaves it usable.)
pub fn guarded(f: impl FnOnce() -> cc_enclave_result_t) -> cc_enclave_result_t {
    last_error::clear();
    let code = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        last_error::record(format_args!(
            "internal error (a panic was contained; please report it): {}",
            panic_message(&*panic)
        ));
        cc_enclave_result_t::CC_ERROR_SEC_CHL_PANIC
    });
    if code != cc_enclave_result_t::CC_SUCCESS {
        last_error::describe_if_unset(code);
    }
    code
}

/// [`guarded`] for functions without a result (fini): a panic is contained, and its
/// message is left as the last error.
pub fn guarded_void(f: impl FnOnce()) {
    let _ = guarded(|| {
        f();
        cc_enclave_result_t::CC_SUCCESS
    });
}

/// Runs `f`, which answers a question (a flag, a size) rather than reporting success: a
/// panic yields `fallback`, with its message left as the last error.
pub fn guarded_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    last_error::clear();
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        last_error::record(format_args!(
            "internal error (a panic was contained; please report it): {}",
            panic_message(&*panic)
        ));
        fallback
    })
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_has_its_own_code_and_leaves_its_message() {
        let code = guarded(|| panic!("index 7 out of range"));
        assert_eq!(code, cc_enclave_result_t::CC_ERROR_SEC_CHL_PANIC);
        assert!(
            last_error::text().contains("index 7 out of range"),
            "{}",
            last_error::text()
        );
        // The next call starts clean; a plain code failure gets the code's description.
        assert_eq!(
            guarded(|| cc_enclave_result_t::CC_SUCCESS),
            cc_enclave_result_t::CC_SUCCESS
        );
        assert_eq!(last_error::text(), "");
        guarded(|| cc_enclave_result_t::CC_ERROR_BAD_PARAMETERS);
        assert_eq!(
            last_error::text(),
            cc_enclave_result_t::CC_ERROR_BAD_PARAMETERS.describe()
        );
        assert!(!guarded_value(false, || panic!("flag")));
        assert!(last_error::text().contains("flag"));
    }
}
