//! Reading channel messages from byte streams (feature `std`).
//!
//! Frames are self-delimiting (a 6-byte header carries the body length), so a stream of
//! channel messages needs no framing of its own.

use crate::msgs::{FRAME_HEADER_LEN, Frame};
use std::io::{Error, ErrorKind, Read};
use std::vec::Vec;

/// Reads one channel message (a whole frame) of at most `max_message` bytes. `Ok(None)` at
/// a clean end of stream. The length is checked before the body is allocated.
pub fn read_message(stream: &mut impl Read, max_message: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    match stream.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let (_, body_len) = Frame::parse_header(&header, max_message.saturating_sub(FRAME_HEADER_LEN))
        .map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
    let mut message = vec![0u8; FRAME_HEADER_LEN + body_len];
    message[..FRAME_HEADER_LEN].copy_from_slice(&header);
    stream.read_exact(&mut message[FRAME_HEADER_LEN..])?;
    Ok(Some(message))
}
