//! Byte codec: a bounds-checked [`Reader`] and the [`Codec`] trait.
//!
//! Every read either returns exactly the bytes asked for or a [`DecodeError`] naming
//! the field that was missing; nothing here can index past the end of a buffer or
//! allocate more than the input already holds. All integers are big-endian.

use alloc::vec::Vec;

/// Why bytes could not be decoded. `&'static str` fields name the protocol field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the named field was complete.
    #[error("truncated: {0} is incomplete")]
    Truncated(&'static str),
    /// Bytes were left over after the named structure ended.
    #[error("trailing data after {0}")]
    TrailingData(&'static str),
    /// A length field exceeds what the protocol allows for the named field.
    #[error("{field} length {len} exceeds the limit of {max}")]
    TooLong {
        /// The field whose length was out of range.
        field: &'static str,
        /// The length found on the wire.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// A length or count is below the protocol minimum (for example an empty list).
    #[error("{0} is empty or too short")]
    TooShort(&'static str),
    /// The frame's message type is not one this version knows.
    #[error("unknown message type 0x{0:02x}")]
    UnknownMessageType(u8),
    /// The frame's wire version is not one this implementation speaks.
    #[error("unsupported wire version {0}")]
    UnsupportedWireVersion(u8),
    /// A field holds a value the protocol forbids (named).
    #[error("illegal value in {0}")]
    IllegalValue(&'static str),
    /// The same extension type appears twice.
    #[error("duplicate extension 0x{0:04x}")]
    DuplicateExtension(u16),
}

/// A cursor over a byte slice that can only fail, never read out of bounds.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the next `n` bytes, or fails naming `what`.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated(what));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Takes everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Reads a byte string prefixed by a length of `prefix` bytes (1, 2 or 4) that must be
    /// at most `max` and at least `min`.
    pub fn vec(
        &mut self,
        prefix: LengthPrefix,
        min: usize,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let len = match prefix {
            LengthPrefix::U8 => usize::from(self.u8(what)?),
            LengthPrefix::U16 => usize::from(self.u16(what)?),
            LengthPrefix::U32 => self.u32(what)? as usize,
        };
        if len > max {
            return Err(DecodeError::TooLong { field: what, len, max });
        }
        if len < min {
            return Err(DecodeError::TooShort(what));
        }
        self.take(len, what)
    }

    /// Fails unless every byte has been consumed.
    pub fn expect_end(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingData(what))
        }
    }
}

/// A value too long for its length field. Encoding refuses it rather than write a length
/// that does not match what follows (which would make the peer misread everything after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} does not fit a length field whose maximum is {max}")]
pub struct EncodeError {
    /// The length (bytes or items) to encode.
    pub len: usize,
    /// The largest the field holds.
    pub max: usize,
}

/// Width of a length prefix on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthPrefix {
    /// One byte.
    U8,
    /// Two bytes, big-endian.
    U16,
    /// Four bytes, big-endian.
    U32,
}

impl LengthPrefix {
    /// Appends `bytes` preceded by its length, or fails (writing nothing) if the length
    /// does not fit the prefix.
    pub fn put(self, out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), EncodeError> {
        match self {
            LengthPrefix::U8 => out.push(len_as::<u8>(bytes.len())?),
            LengthPrefix::U16 => out.extend_from_slice(&len_as::<u16>(bytes.len())?.to_be_bytes()),
            LengthPrefix::U32 => out.extend_from_slice(&len_as::<u32>(bytes.len())?.to_be_bytes()),
        }
        out.extend_from_slice(bytes);
        Ok(())
    }
}

/// A length as a wire integer of type `T`, if it fits.
pub(crate) fn len_as<T: TryFrom<usize> + Bounded>(len: usize) -> Result<T, EncodeError> {
    T::try_from(len).map_err(|_| EncodeError { len, max: T::MAX_LEN })
}

/// Integer types with a largest value, for [`len_as`].
pub(crate) trait Bounded {
    const MAX_LEN: usize;
}
impl Bounded for u8 {
    const MAX_LEN: usize = u8::MAX as usize;
}
impl Bounded for u16 {
    const MAX_LEN: usize = u16::MAX as usize;
}
impl Bounded for u32 {
    const MAX_LEN: usize = u32::MAX as usize;
}

/// A wire structure: encodes itself and reads itself from a [`Reader`].
pub trait Codec<'a>: Sized {
    /// Appends the wire form to `out`, or fails if a length does not fit its field (what
    /// was appended before the failure is then meaningless: discard `out`).
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Reads one value, consuming exactly its bytes.
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError>;

    /// Reads one value that must span all of `bytes`.
    fn read_exact(bytes: &'a [u8], what: &'static str) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.expect_end(what)?;
        Ok(v)
    }

    /// The wire form as a new vector.
    fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0102);
        assert_eq!(r.u16("b"), Err(DecodeError::Truncated("b")));
        assert_eq!(r.u8("c").unwrap(), 3);
        assert_eq!(r.take(1, "d"), Err(DecodeError::Truncated("d")));
        r.expect_end("end").unwrap();
    }

    #[test]
    fn vec_enforces_limits_before_taking() {
        let mut r = Reader::new(&[0, 5, 1, 2]);
        assert_eq!(
            r.vec(LengthPrefix::U16, 0, 4, "v"),
            Err(DecodeError::TooLong {
                field: "v",
                len: 5,
                max: 4
            })
        );
        let mut r = Reader::new(&[0]);
        assert_eq!(r.vec(LengthPrefix::U8, 1, 4, "v"), Err(DecodeError::TooShort("v")));
        let mut r = Reader::new(&[3, 1, 2]);
        assert_eq!(r.vec(LengthPrefix::U8, 0, 4, "v"), Err(DecodeError::Truncated("v")));
    }

    #[test]
    fn prefix_round_trips() {
        for p in [LengthPrefix::U8, LengthPrefix::U16, LengthPrefix::U32] {
            let mut out = Vec::new();
            p.put(&mut out, b"abc").unwrap();
            let mut r = Reader::new(&out);
            assert_eq!(r.vec(p, 0, 10, "x").unwrap(), b"abc");
            r.expect_end("x").unwrap();
        }
    }

    #[test]
    fn a_length_that_does_not_fit_is_refused_not_saturated() {
        let mut out = Vec::new();
        assert_eq!(
            LengthPrefix::U8.put(&mut out, &[0; 256]),
            Err(EncodeError { len: 256, max: 255 })
        );
        assert_eq!(
            LengthPrefix::U16.put(&mut out, &[0; 65536]),
            Err(EncodeError { len: 65536, max: 65535 })
        );
        assert!(out.is_empty(), "nothing written");
        LengthPrefix::U8.put(&mut out, &[0; 255]).unwrap();
        assert_eq!(out[0], 255);
    }
}
