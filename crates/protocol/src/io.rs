//! Reading channel messages from byte streams (feature `std`; the async reader needs
//! feature `tokio`).
//!
//! Frames are self-delimiting (a 6-byte header carries the body length), so a stream of
//! channel messages needs no framing of its own. Both readers check the length against the
//! caller's limit before allocating the body.

use crate::msgs::{FRAME_HEADER_LEN, Frame};
use std::io::{Error, ErrorKind, Read};
use std::vec::Vec;

/// The body length announced by `header`, if within `max_message` (whole frame).
fn body_len(header: &[u8; FRAME_HEADER_LEN], max_message: usize) -> std::io::Result<usize> {
    Frame::parse_header(header, max_message.saturating_sub(FRAME_HEADER_LEN))
        .map(|(_, len)| len)
        .map_err(|e| Error::new(ErrorKind::InvalidData, e))
}

/// Turns the header read's result into "message follows" (`true`) or "clean end" (`false`).
fn header_read(result: std::io::Result<()>) -> std::io::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

fn buffer(header: &[u8; FRAME_HEADER_LEN], body_len: usize) -> Vec<u8> {
    let mut message = vec![0u8; FRAME_HEADER_LEN + body_len];
    message[..FRAME_HEADER_LEN].copy_from_slice(header);
    message
}

/// Reads one channel message (a whole frame) of at most `max_message` bytes. `Ok(None)` at
/// a clean end of stream.
pub fn read_message(stream: &mut impl Read, max_message: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    if !header_read(stream.read_exact(&mut header))? {
        return Ok(None);
    }
    let mut message = buffer(&header, body_len(&header, max_message)?);
    stream.read_exact(&mut message[FRAME_HEADER_LEN..])?;
    Ok(Some(message))
}

/// The async form of [`read_message`].
#[cfg(feature = "tokio")]
pub async fn read_message_async<R: tokio::io::AsyncRead + Unpin>(
    stream: &mut R,
    max_message: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; FRAME_HEADER_LEN];
    if !header_read(stream.read_exact(&mut header).await.map(drop))? {
        return Ok(None);
    }
    let mut message = buffer(&header, body_len(&header, max_message)?);
    stream.read_exact(&mut message[FRAME_HEADER_LEN..]).await?;
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::{Alert, AlertCode};

    #[test]
    fn reads_frames_and_checks_limits_before_allocating() {
        let a = Alert {
            session_id: 1,
            code: AlertCode::Busy,
        }
        .to_frame();
        let mut two = a.clone();
        two.extend_from_slice(&a);
        let mut r = &two[..];
        assert_eq!(read_message(&mut r, 64).unwrap().unwrap(), a);
        assert_eq!(read_message(&mut r, 64).unwrap().unwrap(), a);
        assert!(read_message(&mut r, 64).unwrap().is_none());
        // A header announcing 4 GiB is refused without allocating it.
        let huge = [0x10, 1, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            read_message(&mut &huge[..], 1024).unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        // A truncated body is an error, not a clean end.
        assert!(read_message(&mut &a[..a.len() - 1], 64).is_err());
    }
}
