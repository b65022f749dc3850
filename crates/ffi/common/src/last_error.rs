//! The last error's text, per thread: what C callers read with `cc_sec_chl_last_error`
//! after a call returned a failure code. A code says which kind of failure; the text says
//! why (the whole cause chain: "handshake failed: attestation rejected: malformed evidence:
//! SEV-SNP report: ..."), and never contains secret material.
//!
//! Every exported call starts by clearing it (in [`crate::guard::guarded`]), so the text
//! always belongs to the most recent call on this thread and is empty after a success. A
//! failure that carries no typed error gets the code's own description.

use crate::status::cc_enclave_result_t;
use sc_protocol::ErrorChain;
use std::cell::RefCell;
use std::ffi::c_char;
use std::fmt::Display;

thread_local! {
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Longest text kept (a pathological chain is cut at a character boundary).
const MAX_TEXT: usize = 4096;

/// Records `text` as this thread's last error.
pub fn record(text: impl Display) {
    let mut s = text.to_string();
    if s.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    LAST.with(|l| *l.borrow_mut() = s);
}

/// Records `error` with its causes and returns `code`: `map_err(|e| failed(code_of(&e), &e))`.
pub fn failed(code: cc_enclave_result_t, error: &(dyn std::error::Error + 'static)) -> cc_enclave_result_t {
    record(ErrorChain(error));
    code
}

/// Forgets the last error (start of each exported call).
pub fn clear() {
    LAST.with(|l| l.borrow_mut().clear());
}

/// Records the description of `code` unless a more precise text was recorded.
pub(crate) fn describe_if_unset(code: cc_enclave_result_t) {
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.is_empty() {
            *l = code.describe().to_string();
        }
    });
}

/// This thread's last error text.
pub fn text() -> String {
    LAST.with(|l| l.borrow().clone())
}

/// Copies the text of this thread's most recent failure into `buf` (at most `len` bytes,
/// NUL included; cut if longer) and returns the text's full length without the NUL, as
/// `snprintf` does: call with `buf` NULL or `len` 0 to learn the size. Returns 0 when the
/// most recent call on this thread succeeded.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_last_error(buf: *mut c_char, len: usize) -> usize {
    // Not `guarded`: reading the last error must not clear it. Nothing here can panic but
    // the allocation in `text`; contain it anyway.
    std::panic::catch_unwind(|| {
        let text = text();
        if !buf.is_null() && len > 0 {
            let n = text.len().min(len - 1);
            // SAFETY: the caller guarantees `buf` has `len` writable bytes; `n < len`, so
            // `n` bytes of text and the NUL at `buf[n]` fit, and `text` does not overlap a
            // caller's buffer (it is our own allocation).
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), buf, n);
                *buf.add(n) = 0;
            }
        }
        text.len()
    })
    .unwrap_or(0)
}

/// The name and meaning of result code `code` ("CC_ERROR_SEC_CHL_POLICY_REJECTED: ..."), as
/// static text that stays valid for the life of the program; an unknown code gets a text
/// saying so. The detail of the last failure is [`cc_sec_chl_last_error`]'s.
#[unsafe(no_mangle)]
pub extern "C" fn cc_sec_chl_strerror(code: u32) -> *const c_char {
    use crate::status::cc_enclave_result_t;
    use std::ffi::CString;
    use std::sync::OnceLock;
    static TEXTS: OnceLock<Vec<CString>> = OnceLock::new();
    const UNKNOWN: &std::ffi::CStr = c"unknown result code (not a cc_enclave_result_t value)";
    std::panic::catch_unwind(|| {
        let texts = TEXTS.get_or_init(|| {
            cc_enclave_result_t::ALL
                .iter()
                .map(|c| CString::new(c.describe()).unwrap_or_default())
                .collect()
        });
        cc_enclave_result_t::ALL
            .iter()
            .position(|c| *c as u32 == code)
            .and_then(|i| texts.get(i))
            .map_or(UNKNOWN.as_ptr(), |t| t.as_ptr())
    })
    .unwrap_or(UNKNOWN.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_copied_cut_and_measured_like_snprintf() {
        record("enclave said no");
        // SAFETY: NULL with length 0 only measures.
        let n = unsafe { cc_sec_chl_last_error(std::ptr::null_mut(), 0) };
        assert_eq!(n, 15);
        let mut small = [0x7f as c_char; 6];
        // SAFETY: `small` has 6 writable bytes.
        let n = unsafe { cc_sec_chl_last_error(small.as_mut_ptr(), small.len()) };
        assert_eq!(n, 15);
        let got: Vec<u8> = small.iter().map(|&c| c as u8).collect();
        assert_eq!(&got, b"encla\0");
        clear();
        let mut buf = [0x7f as c_char; 4];
        // SAFETY: `buf` has 4 writable bytes.
        let n = unsafe { cc_sec_chl_last_error(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(n, 0);
        assert_eq!(buf[0], 0);
    }

    #[test]
    fn the_text_is_per_thread_and_bounded() {
        record("x".repeat(10 * MAX_TEXT));
        assert_eq!(text().len(), MAX_TEXT);
        std::thread::spawn(|| assert_eq!(text(), "")).join().unwrap();
    }

    #[test]
    fn every_code_has_a_static_text_starting_with_its_name() {
        use crate::status::cc_enclave_result_t;
        for code in cc_enclave_result_t::ALL {
            // SAFETY: the function returns a NUL-terminated static text.
            let text = unsafe { std::ffi::CStr::from_ptr(cc_sec_chl_strerror(code as u32)) };
            let text = text.to_str().unwrap();
            assert!(text.starts_with(&format!("{code:?}: ")), "{text}");
            assert_eq!(cc_enclave_result_t::from_code(code as u32), Some(code));
        }
        // SAFETY: as above.
        let unknown = unsafe { std::ffi::CStr::from_ptr(cc_sec_chl_strerror(0x1234_5678)) };
        assert!(unknown.to_str().unwrap().starts_with("unknown result code"));
    }
}
