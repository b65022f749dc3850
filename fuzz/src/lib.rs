//! What the fuzz targets share: structure-aware edits of a real message (a near-valid
//! input fails deep in the state machine, not at byte 0).

use arbitrary::Arbitrary;

/// One edit of a message.
#[derive(Arbitrary, Debug)]
pub enum Edit {
    /// Flip one bit.
    Flip { at: u16, bit: u8 },
    /// Set one byte.
    Set { at: u16, value: u8 },
    /// Cut the message to `len` bytes.
    Truncate { len: u16 },
    /// Insert up to 64 bytes.
    Insert { at: u16, bytes: Vec<u8> },
}

/// Applies `edits` to `message` in order.
pub fn apply(message: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        match e {
            Edit::Flip { at, bit } if !message.is_empty() => {
                let i = usize::from(*at) % message.len();
                message[i] ^= 1 << (bit % 8);
            }
            Edit::Set { at, value } if !message.is_empty() => {
                let i = usize::from(*at) % message.len();
                message[i] = *value;
            }
            Edit::Truncate { len } => message.truncate(usize::from(*len)),
            Edit::Insert { at, bytes } => {
                let i = usize::from(*at) % (message.len() + 1);
                message.splice(i..i, bytes.iter().copied().take(64));
            }
            _ => {}
        }
    }
}
