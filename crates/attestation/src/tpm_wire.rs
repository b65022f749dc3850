//! TPM 2.0 marshalling (big-endian, `TPM2B_*` as a u16 size and bytes), shared by the
//! vTPM evidence parser (`platforms::azure`) and the vTPM attester (`attesters::vtpm`).
//! Reading is bounds-checked: a short buffer is [`Truncated`], never a panic.

/// The buffer ended before the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("truncated TPM structure")]
pub struct Truncated;

/// A bounds-checked reader.
#[derive(Debug)]
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Reads from `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if self.0.len() < n {
            return Err(Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    /// A u8.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `TPM2B_*`: u16 size, then that many bytes.
    pub fn sized(&mut self) -> Result<&'a [u8], Truncated> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.0
    }
}

/// A writer (commands are small; sizes checked where they are bounded).
#[derive(Debug, Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// A u8.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// A big-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `TPM2B_*` (callers keep `bytes` under 64 KiB; longer is cut to fit the size).
    pub fn sized(&mut self, bytes: &[u8]) -> &mut Self {
        let n = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.u16(n);
        self.0.extend_from_slice(&bytes[..usize::from(n)]);
        self
    }

    /// Raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
}

/// The SHA-256 algorithm id.
pub const ALG_SHA256: u16 = 0x000b;

/// A `TPML_PCR_SELECTION` of one SHA-256 bank selecting `pcrs` (indexes below 24).
pub fn pcr_selection(w: &mut Writer, pcrs: impl IntoIterator<Item = usize>) {
    let mut bitmap = [0u8; 3];
    for i in pcrs.into_iter().filter(|i| *i < 24) {
        bitmap[i / 8] |= 1 << (i % 8);
    }
    w.u32(1).u16(ALG_SHA256).u8(3).bytes(&bitmap);
}
