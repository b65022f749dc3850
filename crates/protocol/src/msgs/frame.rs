//! The frame: the one envelope around every channel message.
//!
//! ```text
//! u8  msg_type | u8 wire_version | u32 body_len | body[body_len]
//! ```
//! One channel message is exactly one frame: bytes after the body are an error.

use super::MAX_FRAME_BODY;
use crate::codec::{DecodeError, EncodeError, Reader};
use alloc::vec::Vec;

/// The frame format version this implementation writes and accepts.
pub const WIRE_VERSION: u8 = 1;
/// Bytes before the body.
pub const FRAME_HEADER_LEN: usize = 6;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Client's first handshake message.
    ClientHello,
    /// Enclave's handshake reply (with evidence and key confirmation).
    ServerHello,
    /// Client's key confirmation.
    ClientFinished,
    /// A protected record of application data.
    ApplicationData,
    /// A protected record that closes the session.
    Close,
    /// A protected record acknowledging the client's Finished (sent only when the client
    /// asked for acknowledgements); its plaintext is an extension block, empty in version 1.
    SessionAck,
    /// A protected record ending the sender's stream (a half-close: no more data from this
    /// side; the session stays open for the other). Only on sessions that negotiated
    /// `streams`; its plaintext is empty.
    EndOfStream,
    /// An unprotected handshake failure notice.
    Alert,
}

impl MessageType {
    /// Wire code.
    pub fn code(self) -> u8 {
        match self {
            MessageType::ClientHello => 0x01,
            MessageType::ServerHello => 0x02,
            MessageType::ClientFinished => 0x03,
            MessageType::ApplicationData => 0x10,
            MessageType::Close => 0x11,
            MessageType::SessionAck => 0x12,
            MessageType::EndOfStream => 0x13,
            MessageType::Alert => 0x15,
        }
    }

    /// Decodes a wire code.
    pub fn from_code(code: u8) -> Result<Self, DecodeError> {
        Ok(match code {
            0x01 => MessageType::ClientHello,
            0x02 => MessageType::ServerHello,
            0x03 => MessageType::ClientFinished,
            0x10 => MessageType::ApplicationData,
            0x11 => MessageType::Close,
            0x12 => MessageType::SessionAck,
            0x13 => MessageType::EndOfStream,
            0x15 => MessageType::Alert,
            other => return Err(DecodeError::UnknownMessageType(other)),
        })
    }

    /// Whether frames of this type are protected records.
    pub fn is_record(self) -> bool {
        matches!(
            self,
            MessageType::ApplicationData | MessageType::Close | MessageType::SessionAck | MessageType::EndOfStream
        )
    }
}

/// A parsed frame borrowing its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Message type.
    pub msg_type: MessageType,
    /// Body bytes (exactly `body_len`).
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Parses one whole channel message. `max_body` lets a caller apply a limit lower than
    /// the protocol's [`MAX_FRAME_BODY`].
    pub fn parse(bytes: &'a [u8], max_body: usize) -> Result<Self, DecodeError> {
        let (msg_type, body_len) = Self::parse_header(bytes, max_body)?;
        let body = &bytes[FRAME_HEADER_LEN..];
        if body.len() < body_len {
            return Err(DecodeError::Truncated("frame body"));
        }
        if body.len() > body_len {
            return Err(DecodeError::TrailingData("frame"));
        }
        Ok(Frame { msg_type, body })
    }

    /// Parses only the header, returning the type and body length, so that a stream reader
    /// can size its buffer (within `max_body`) before reading the body.
    pub fn parse_header(bytes: &[u8], max_body: usize) -> Result<(MessageType, usize), DecodeError> {
        let mut r = Reader::new(bytes);
        let msg_type = MessageType::from_code(r.u8("frame type")?)?;
        let version = r.u8("frame version")?;
        if version != WIRE_VERSION {
            return Err(DecodeError::UnsupportedWireVersion(version));
        }
        let body_len = r.u32("frame length")? as usize;
        let max = max_body.min(MAX_FRAME_BODY);
        if body_len > max {
            return Err(DecodeError::TooLong {
                field: "frame body",
                len: body_len,
                max,
            });
        }
        Ok((msg_type, body_len))
    }

    /// The session id of every frame except a ClientHello (which comes before one exists):
    /// the first eight body bytes. This is what an untrusted host routes by.
    pub fn session_id(&self) -> Option<u64> {
        if self.msg_type == MessageType::ClientHello {
            return None;
        }
        Reader::new(self.body).u64("session id").ok()
    }
}

/// The frame header for a body of `body_len` bytes (the length field's own type, so that
/// no length can be cut to fit).
pub fn frame_header(msg_type: MessageType, body_len: u32) -> [u8; FRAME_HEADER_LEN] {
    let len = body_len.to_be_bytes();
    [msg_type.code(), WIRE_VERSION, len[0], len[1], len[2], len[3]]
}

/// Wraps a body into a whole frame, or fails if the body exceeds [`MAX_FRAME_BODY`] (no
/// peer would read it).
pub(crate) fn frame(msg_type: MessageType, body: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let too_long = EncodeError {
        len: body.len(),
        max: MAX_FRAME_BODY,
    };
    if body.len() > MAX_FRAME_BODY {
        return Err(too_long);
    }
    let len = u32::try_from(body.len()).map_err(|_| too_long)?;
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + body.len());
    out.extend_from_slice(&frame_header(msg_type, len));
    out.extend_from_slice(body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_errors() {
        let f = frame(MessageType::Alert, &[0, 0, 0, 0, 0, 0, 0, 7, 0, 1]).unwrap();
        let parsed = Frame::parse(&f, 1024).unwrap();
        assert_eq!(parsed.msg_type, MessageType::Alert);
        assert_eq!(parsed.session_id(), Some(7));

        let mut long = f.clone();
        long.push(0);
        assert_eq!(Frame::parse(&long, 1024), Err(DecodeError::TrailingData("frame")));
        assert_eq!(
            Frame::parse(&f[..f.len() - 1], 1024),
            Err(DecodeError::Truncated("frame body"))
        );
        let mut bad = f.clone();
        bad[1] = 9;
        assert_eq!(Frame::parse(&bad, 1024), Err(DecodeError::UnsupportedWireVersion(9)));
        bad = f.clone();
        bad[0] = 0x77;
        assert_eq!(Frame::parse(&bad, 1024), Err(DecodeError::UnknownMessageType(0x77)));
        assert!(matches!(Frame::parse(&f, 4), Err(DecodeError::TooLong { .. })));
    }
}
