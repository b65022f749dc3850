//! # sc-ffi-common: what the three C libraries share
//!
//! * [`status`]: `cc_enclave_result_t` (status.h) with the original's names and values,
//!   this project's new failure kinds, and the mapping from Rust errors;
//! * [`conn`]: the connection kit and send hook (secure_channel.h);
//! * [`guard`]: panic containment, so nothing unwinds into C;
//! * [`last_error`]: the text of the last failure per thread (`cc_sec_chl_last_error`);
//! * [`buffer`]: input checks and the LEN_NOT_ENOUGH output convention;
//! * [`registry`]: objects handed to C as checked handles.
//!
//! ```
//! use sc_ffi_common::guard::guarded;
//! use sc_ffi_common::status::cc_enclave_result_t;
//!
//! // A panic inside an exported function becomes its own result code, and its message
//! // the thread's last error text.
//! let code = guarded(|| panic!("contained"));
//! assert_eq!(code, cc_enclave_result_t::CC_ERROR_SEC_CHL_PANIC);
//! assert!(sc_ffi_common::last_error::text().contains("contained"));
//! ```

pub mod buffer;
pub mod conn;
pub mod guard;
pub mod last_error;
pub mod registry;
pub mod status;

// Session ids cross the boundary as `size_t`; the protocol's are 64-bit.
const _: () = assert!(
    std::mem::size_of::<usize>() == 8,
    "the C interface needs a 64-bit target"
);
