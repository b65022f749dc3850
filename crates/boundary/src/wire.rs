//! The wire form of the contract in [`crate::call`], over the boundary stream:
//!
//! ```text
//! u32 len | u64 call_id | u8 kind | body[len - 9]
//! ```
//!
//! | kind | call | body |
//! |---|---|---|
//! | 0x01 | Channel | the channel message |
//! | 0x02 | App | u64 session_id, u32 function, the request record |
//! | 0x03 | CloseSession | u64 session_id |
//! | 0x81 | Channel outcome | u8 outcome, then: 1 Accepted: u64 session_id, ServerHello; 2 Established: SessionAck or nothing; 3 Refused: alert; 4 Closed: Close or nothing |
//! | 0x82 | App reply | the reply record |
//! | 0x83 | Done | empty |
//! | 0x8f | Error | u16 code ([`crate::ErrorCode`]), UTF-8 text |
//!
//! Call id 0 ([`crate::ONE_WAY`]) asks for no answer: the enclave handles the call and writes
//! nothing back. Why: a host that tells the enclave to forget a session on an eviction or
//! disconnect path must not wait for it, and an answer nobody waits for would sit unread
//! in the boundary socket until it fills and stalls every call.
//!
//! A frame longer than [`MAX_CALL_LEN`] is never written (the writer fails, or the
//! enclave answers [`ErrorCode::TooLarge`] instead): a wrong length would desynchronize
//! the stream for every call behind it.

use crate::call::{CallError, ChannelOutcome, ErrorCode, MAX_CALL_LEN, Request, Response};
use sc_protocol::codec::Reader;

impl Request {
    /// Writes the call as one frame without copying its payload into a new buffer (a
    /// record is the bulk of a call; it goes to the socket as it is). A write that blocks
    /// (a writer with a send timeout reports it) is tried again until `deadline`.
    pub(crate) fn write_to(
        &self,
        call_id: u64,
        w: &mut impl std::io::Write,
        deadline: std::time::Instant,
    ) -> std::io::Result<()> {
        let (kind, prefix, payload): (u8, Vec<u8>, &[u8]) = match self {
            Request::Channel { message } => (0x01, Vec::new(), message),
            Request::App {
                session_id,
                function,
                record,
            } => {
                let mut p = session_id.to_be_bytes().to_vec();
                p.extend_from_slice(&function.to_be_bytes());
                (0x02, p, record)
            }
            Request::CloseSession { session_id } => (0x03, session_id.to_be_bytes().to_vec(), &[]),
            Request::Evidence { nonce } => (0x04, Vec::new(), nonce),
            Request::EndSession { session_id } => (0x05, session_id.to_be_bytes().to_vec(), &[]),
            Request::Credit { session_id, bytes } => {
                let mut p = session_id.to_be_bytes().to_vec();
                p.extend_from_slice(&bytes.to_be_bytes());
                (0x06, p, &[])
            }
        };
        let len = frame_len(prefix.len() + payload.len())?;
        let mut head = Vec::with_capacity(13 + prefix.len());
        head.extend_from_slice(&len.to_be_bytes());
        head.extend_from_slice(&call_id.to_be_bytes());
        head.push(kind);
        head.extend_from_slice(&prefix);
        write_all_vectored(
            w,
            &mut [std::io::IoSlice::new(&head), std::io::IoSlice::new(payload)],
            deadline,
        )
    }

    #[cfg(test)]
    pub(crate) fn encode(&self, call_id: u64) -> Vec<u8> {
        let (kind, body): (u8, Vec<u8>) = match self {
            Request::Channel { message } => (0x01, message.clone()),
            Request::App {
                session_id,
                function,
                record,
            } => {
                let mut b = Vec::with_capacity(12 + record.len());
                b.extend_from_slice(&session_id.to_be_bytes());
                b.extend_from_slice(&function.to_be_bytes());
                b.extend_from_slice(record);
                (0x02, b)
            }
            Request::CloseSession { session_id } => (0x03, session_id.to_be_bytes().to_vec()),
            Request::Evidence { nonce } => (0x04, nonce.to_vec()),
            Request::EndSession { session_id } => (0x05, session_id.to_be_bytes().to_vec()),
            Request::Credit { session_id, bytes } => {
                let mut b = session_id.to_be_bytes().to_vec();
                b.extend_from_slice(&bytes.to_be_bytes());
                (0x06, b)
            }
        };
        frame(call_id, kind, &body).expect("test calls fit")
    }

    pub(crate) fn decode(kind: u8, body: &[u8]) -> Result<Self, &'static str> {
        let mut r = Reader::new(body);
        Ok(match kind {
            0x01 => Request::Channel { message: body.to_vec() },
            0x02 => Request::App {
                session_id: r.u64("session id").map_err(|_| "app call session id")?,
                function: r.u32("function").map_err(|_| "app call function")?,
                record: r.rest().to_vec(),
            },
            0x03 => {
                let session_id = r.u64("session id").map_err(|_| "close session id")?;
                r.expect_end("close").map_err(|_| "close trailing data")?;
                Request::CloseSession { session_id }
            }
            0x06 => {
                let session_id = r.u64("session id").map_err(|_| "credit session id")?;
                let bytes = r.u32("bytes").map_err(|_| "credit bytes")?;
                r.expect_end("credit").map_err(|_| "credit trailing data")?;
                Request::Credit { session_id, bytes }
            }
            0x05 => {
                let session_id = r.u64("session id").map_err(|_| "end session id")?;
                r.expect_end("end").map_err(|_| "end session trailing data")?;
                Request::EndSession { session_id }
            }
            0x04 => Request::Evidence {
                nonce: body.try_into().map_err(|_| "evidence probe nonce")?,
            },
            _ => return Err("unknown request kind"),
        })
    }
}

impl Response {
    /// The answer's frame, or an error when it would exceed [`MAX_CALL_LEN`].
    pub(crate) fn encode(&self, call_id: u64) -> std::io::Result<Vec<u8>> {
        let optional = |tag: u8, m: &Option<Vec<u8>>| {
            let mut b = vec![tag];
            if let Some(m) = m {
                b.extend_from_slice(m);
            }
            b
        };
        let (kind, body): (u8, Vec<u8>) = match self {
            Response::Channel(ChannelOutcome::Accepted {
                session_id,
                server_hello,
            }) => {
                let mut b = Vec::with_capacity(9 + server_hello.len());
                b.push(1);
                b.extend_from_slice(&session_id.to_be_bytes());
                b.extend_from_slice(server_hello);
                (0x81, b)
            }
            Response::Channel(ChannelOutcome::Established { ack }) => (0x81, optional(2, ack)),
            Response::Channel(ChannelOutcome::Refused { alert }) => (0x81, optional(3, &Some(alert.clone()))),
            Response::Channel(ChannelOutcome::Closed { reply }) => (0x81, optional(4, reply)),
            Response::App { record } => (0x82, record.clone()),
            Response::Done => (0x83, Vec::new()),
            // u16 platform | u32 len | evidence | collateral (the rest; empty: none)
            Response::Evidence(p) => {
                let len = u32::try_from(p.evidence.len())
                    .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "evidence too large"))?;
                let collateral = p.collateral.as_deref().unwrap_or_default();
                let mut b = Vec::with_capacity(6 + p.evidence.len() + collateral.len());
                b.extend_from_slice(&p.platform.0.to_be_bytes());
                b.extend_from_slice(&len.to_be_bytes());
                b.extend_from_slice(&p.evidence);
                b.extend_from_slice(collateral);
                (0x84, b)
            }
            Response::Error(e) => {
                let mut b = e.code.as_u16().to_be_bytes().to_vec();
                b.extend_from_slice(e.message.as_bytes());
                (0x8f, b)
            }
        };
        frame(call_id, kind, &body)
    }

    pub(crate) fn decode(kind: u8, body: &[u8]) -> Result<Self, &'static str> {
        let mut r = Reader::new(body);
        let optional = |rest: &[u8]| (!rest.is_empty()).then(|| rest.to_vec());
        Ok(match kind {
            0x81 => Response::Channel(match r.u8("outcome").map_err(|_| "channel outcome")? {
                1 => ChannelOutcome::Accepted {
                    session_id: r.u64("session id").map_err(|_| "accepted session id")?,
                    server_hello: r.rest().to_vec(),
                },
                2 => ChannelOutcome::Established {
                    ack: optional(r.rest()),
                },
                3 => ChannelOutcome::Refused {
                    alert: r.rest().to_vec(),
                },
                4 => ChannelOutcome::Closed {
                    reply: optional(r.rest()),
                },
                _ => return Err("channel outcome"),
            }),
            0x82 => Response::App { record: body.to_vec() },
            0x83 if body.is_empty() => Response::Done,
            0x84 => {
                let platform = sc_protocol::PlatformId(r.u16("platform").map_err(|_| "evidence platform")?);
                let len = r.u32("evidence length").map_err(|_| "evidence length")? as usize;
                let evidence = r.take(len, "evidence").map_err(|_| "evidence length")?.to_vec();
                Response::Evidence(crate::ProbeEvidence {
                    platform,
                    evidence,
                    collateral: optional(r.rest()),
                })
            }
            0x8f => Response::Error(CallError {
                code: ErrorCode::from_u16(r.u16("code").map_err(|_| "error code")?),
                message: String::from_utf8_lossy(r.rest()).into_owned(),
            }),
            _ => return Err("unknown response kind"),
        })
    }
}

/// The frame kind of a [`Push`] (sent with call id 0: it answers no call).
pub(crate) const PUSH: u8 = 0x85;

impl crate::call::Push {
    /// The push's frame: `u64 session_id | record`, call id 0.
    pub(crate) fn encode(&self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::with_capacity(8 + self.record.len());
        body.extend_from_slice(&self.session_id.to_be_bytes());
        body.extend_from_slice(&self.record);
        frame(0, PUSH, &body)
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, &'static str> {
        let mut r = Reader::new(body);
        Ok(Self {
            session_id: r.u64("session id").map_err(|_| "push session id")?,
            record: r.rest().to_vec(),
        })
    }
}

/// The length field of a frame with a body of `body` bytes, if it may be sent.
fn frame_len(body: usize) -> std::io::Result<u32> {
    let len = 9 + body;
    if len > MAX_CALL_LEN {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("boundary frame of {len} bytes exceeds the limit of {MAX_CALL_LEN}"),
        ));
    }
    Ok(len as u32)
}

fn frame(call_id: u64, kind: u8, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let len = frame_len(body.len())?;
    let mut out = Vec::with_capacity(4 + 9 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&call_id.to_be_bytes());
    out.push(kind);
    out.extend_from_slice(body);
    Ok(out)
}

/// Reads one request frame, taking an app call's record straight into its own buffer (no
/// copy after the read). `Ok(None)` at a clean end of stream; a malformed call is
/// `Ok(Some((id, Err(reason))))` so that it can be answered.
pub(crate) fn read_request(
    r: &mut impl std::io::Read,
) -> std::io::Result<Option<(u64, Result<Request, &'static str>)>> {
    let Some((id, kind, len)) = read_head(r)? else {
        return Ok(None);
    };
    if kind != 0x02 || len < 12 {
        let body = read_body(r, len)?;
        return Ok(Some((id, Request::decode(kind, &body))));
    }
    let mut prefix = [0u8; 12];
    r.read_exact(&mut prefix)?;
    let record = read_body(r, len - 12)?;
    let session_id = u64::from_be_bytes(prefix[..8].try_into().unwrap_or_default());
    let function = u32::from_be_bytes(prefix[8..].try_into().unwrap_or_default());
    Ok(Some((
        id,
        Ok(Request::App {
            session_id,
            function,
            record,
        }),
    )))
}

/// Writes every slice, in one system call when the socket takes it all (one wake-up of
/// the enclave's reader per call, not one per part). A write that blocks (times out) is
/// tried again until `deadline`.
fn write_all_vectored(
    w: &mut impl std::io::Write,
    mut bufs: &mut [std::io::IoSlice<'_>],
    deadline: std::time::Instant,
) -> std::io::Result<()> {
    use std::io::ErrorKind;
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => std::io::IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if std::time::Instant::now() >= deadline {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads exactly `len` bytes into a new buffer, without zeroing it first (a 64 KiB
/// record is read into place, not written twice).
fn read_body(r: &mut impl std::io::Read, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut body = Vec::with_capacity(len);
    r.by_ref().take(len as u64).read_to_end(&mut body)?;
    if body.len() < len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(body)
}

/// Reads a frame header: call id, kind and body length (checked against [`MAX_CALL_LEN`]).
fn read_head(r: &mut impl std::io::Read) -> std::io::Result<Option<(u64, u8, usize)>> {
    use std::io::{Error, ErrorKind};
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if !(9..=MAX_CALL_LEN).contains(&len) {
        return Err(Error::new(ErrorKind::InvalidData, "boundary frame length out of range"));
    }
    let mut head = [0u8; 9];
    r.read_exact(&mut head)?;
    let call_id = u64::from_be_bytes(head[..8].try_into().unwrap_or_default());
    Ok(Some((call_id, head[8], len - 9)))
}

/// Reads one frame: `Ok(None)` at a clean end of stream.
pub(crate) fn read_frame(r: &mut impl std::io::Read) -> std::io::Result<Option<(u64, u8, Vec<u8>)>> {
    let Some((call_id, kind, len)) = read_head(r)? else {
        return Ok(None);
    };
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some((call_id, kind, body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_request(req: Request) {
        let bytes = req.encode(42);
        let (id, kind, body) = read_frame(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!(id, 42);
        assert_eq!(Request::decode(kind, &body).unwrap(), req);
        // The streaming writer and reader agree with the buffer forms.
        let mut streamed = Vec::new();
        req.write_to(42, &mut streamed, std::time::Instant::now()).unwrap();
        assert_eq!(streamed, bytes);
        let (id, read) = read_request(&mut &streamed[..]).unwrap().unwrap();
        assert_eq!((id, read.unwrap()), (42, req));
    }

    fn round_trip_response(resp: Response) {
        let bytes = resp.encode(7).unwrap();
        let (id, kind, body) = read_frame(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!(id, 7);
        assert_eq!(Response::decode(kind, &body).unwrap(), resp);
    }

    #[test]
    fn calls_round_trip_and_bad_frames_are_errors() {
        round_trip_request(Request::Channel { message: vec![1, 2, 3] });
        round_trip_request(Request::App {
            session_id: 9,
            function: 3,
            record: vec![5; 40],
        });
        round_trip_request(Request::CloseSession { session_id: 77 });
        round_trip_request(Request::Evidence { nonce: [0xa5; 32] });
        round_trip_request(Request::EndSession { session_id: 78 });
        round_trip_request(Request::Credit {
            session_id: 79,
            bytes: 65536,
        });
        assert!(Request::decode(0x06, &[0; 11]).is_err());
        let push = crate::call::Push {
            session_id: 80,
            record: vec![7; 300],
        };
        let bytes = push.encode().unwrap();
        let (id, kind, body) = read_frame(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!((id, kind), (0, PUSH));
        assert_eq!(crate::call::Push::decode(&body).unwrap(), push);
        assert!(crate::call::Push::decode(&[1, 2]).is_err());
        round_trip_response(Response::Channel(ChannelOutcome::Accepted {
            session_id: 0x0102_0304_0506_0708,
            server_hello: vec![9; 30],
        }));
        round_trip_response(Response::Channel(ChannelOutcome::Established { ack: None }));
        round_trip_response(Response::Channel(ChannelOutcome::Established { ack: Some(vec![3; 8]) }));
        round_trip_response(Response::Channel(ChannelOutcome::Refused { alert: vec![1; 12] }));
        round_trip_response(Response::Channel(ChannelOutcome::Closed { reply: None }));
        round_trip_response(Response::Channel(ChannelOutcome::Closed {
            reply: Some(vec![7; 40]),
        }));
        round_trip_response(Response::App { record: vec![1] });
        round_trip_response(Response::Done);
        for collateral in [None, Some(vec![4; 100])] {
            round_trip_response(Response::Evidence(crate::ProbeEvidence {
                platform: sc_protocol::PlatformId(4),
                evidence: vec![2; 1184],
                collateral,
            }));
        }
        round_trip_response(Response::Error(CallError::new(
            ErrorCode::UnknownSession,
            "no such session",
        )));
        // An unknown code reads as Internal rather than failing the stream.
        let unknown = Response::decode(0x8f, &[0xff, 0xff, b'x']).unwrap();
        assert_eq!(unknown, Response::Error(CallError::new(ErrorCode::Internal, "x")));
        for code in 0..=10u16 {
            assert_eq!(ErrorCode::from_u16(code).as_u16(), code);
        }
        // Oversize frames are refused, not written with a wrong length.
        let huge = Response::App {
            record: vec![0; MAX_CALL_LEN],
        };
        assert_eq!(huge.encode(1).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        let huge_call = Request::Channel {
            message: vec![0; MAX_CALL_LEN],
        };
        let mut sink = Vec::new();
        let refused = huge_call.write_to(1, &mut sink, std::time::Instant::now());
        assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        assert!(sink.is_empty());
        assert!(Request::decode(0x02, &[0; 5]).is_err());
        assert!(Request::decode(0x09, &[]).is_err());
        // A probe nonce is exactly 32 bytes; evidence longer than the frame is refused.
        assert!(Request::decode(0x04, &[0; 31]).is_err());
        assert!(Request::decode(0x04, &[0; 33]).is_err());
        assert!(Response::decode(0x84, &[0, 4, 0xff, 0xff, 0xff, 0xff, 1]).is_err());
        assert!(Response::decode(0x84, &[0, 4, 0]).is_err());
        assert!(Response::decode(0x81, &[9]).is_err());
        assert!(Response::decode(0x81, &[1, 0, 0]).is_err());
        let huge = ((MAX_CALL_LEN + 1) as u32).to_be_bytes();
        assert!(read_frame(&mut &huge[..]).is_err());
        assert!(read_frame(&mut &[][..]).unwrap().is_none());
    }
}
