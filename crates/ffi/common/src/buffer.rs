//! Caller-owned buffers and the LEN_NOT_ENOUGH convention: when the output pointer is
//! NULL or `*len` is too small, the call writes the needed length to `*len` and returns
//! `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH`; on success it writes the actual length.

use crate::status::cc_enclave_result_t::{self, *};
use std::ffi::c_void;

/// Borrows `len` bytes at `ptr` as input. NULL or zero length is refused.
///
/// # Safety
/// When `ptr` is not NULL it must point to `len` readable bytes that stay valid and
/// unchanged for `'a`.
pub unsafe fn input<'a>(ptr: *const c_void, len: usize) -> Result<&'a [u8], cc_enclave_result_t> {
    if ptr.is_null() || len == 0 || len > isize::MAX as usize {
        return Err(CC_ERROR_BAD_PARAMETERS);
    }
    // SAFETY: non-NULL, length within isize::MAX, validity guaranteed by the caller.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// Like [`input`], but zero bytes are allowed (then `ptr` may be NULL): for calls whose
/// input may be empty.
///
/// # Safety
/// As [`input`].
pub unsafe fn input_or_empty<'a>(ptr: *const c_void, len: usize) -> Result<&'a [u8], cc_enclave_result_t> {
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { input(ptr, len) }
}

/// An output buffer: `out` with capacity `*len`, where the result's length goes.
#[derive(Debug)]
pub struct Output {
    out: *mut u8,
    len: *mut usize,
}

impl Output {
    /// Checks the length pointer (the buffer may be NULL: a size query).
    ///
    /// # Safety
    /// `len`, when not NULL, must be valid for reads and writes; `out`, when not NULL,
    /// must be valid for writes of `*len` bytes; both for as long as the `Output` lives.
    pub unsafe fn new(out: *mut c_void, len: *mut usize) -> Result<Self, cc_enclave_result_t> {
        if len.is_null() {
            return Err(CC_ERROR_BAD_PARAMETERS);
        }
        Ok(Self { out: out.cast(), len })
    }

    /// Makes room for `needed` bytes: the writable slice, or LEN_NOT_ENOUGH with `*len`
    /// set to `needed`.
    /// An empty result needs no buffer: the output may then be NULL.
    pub fn room(&mut self, needed: usize) -> Result<&mut [u8], cc_enclave_result_t> {
        if needed == 0 {
            return Ok(&mut []);
        }
        // SAFETY: `len` was checked non-NULL and is valid per `new`'s contract.
        let capacity = unsafe { self.len.read() };
        if self.out.is_null() || capacity < needed {
            // SAFETY: as above.
            unsafe { self.len.write(needed) };
            return Err(CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH);
        }
        // SAFETY: `out` is non-NULL and writable for `capacity >= needed` bytes per `new`'s
        // contract; `needed` fits isize because it is at most the capacity the caller has.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.out, needed) })
    }

    /// Records the actual length written.
    pub fn done(&mut self, written: usize) {
        // SAFETY: `len` was checked non-NULL and is valid per `new`'s contract.
        unsafe { self.len.write(written) };
    }
}
