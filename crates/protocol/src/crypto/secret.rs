//! A fixed-capacity secret that is zeroized on drop and never printed.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Up to 64 secret bytes (the longest hash output used).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Secret {
    bytes: [u8; 64],
    len: u8,
}

impl Secret {
    /// A zeroed secret of `len` bytes (`len` <= 64), to be filled by the caller.
    pub(crate) fn zeroed(len: usize) -> Self {
        debug_assert!(len <= 64);
        Self {
            bytes: [0; 64],
            len: len.min(64) as u8,
        }
    }

    /// Copies `bytes` (at most 64 are kept).
    pub(crate) fn from_slice(bytes: &[u8]) -> Self {
        let mut s = Self::zeroed(bytes.len());
        let n = usize::from(s.len);
        s.bytes[..n].copy_from_slice(&bytes[..n]);
        s
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub(crate) fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}
