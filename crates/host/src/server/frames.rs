//! Reading one client frame under the host's admission rules: the 6-byte header first,
//! checked against the limit for that message type in the connection's state, then the
//! body in chunks, each taken from the byte budgets before it is read.
//!
//! Why chunks: a header announcing 1 MiB costs nothing until the bytes arrive, so a peer
//! that announces much and sends little holds almost nothing, and one that sends much is
//! bounded by the budgets and the frame deadline.

use crate::{ConnId, Host, HostError};
use sc_protocol::msgs::{FRAME_HEADER_LEN, Frame, MAX_FRAME_BODY, MessageType};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout_at};

/// Bytes read (and budgeted) at a time.
const CHUNK: usize = 64 * 1024;

/// Budget permits held for a message until the host is done with it (its reply written).
#[derive(Debug, Default)]
pub(crate) struct Held(Vec<OwnedSemaphorePermit>);

/// The byte budgets a message's bytes are taken from: the host's and the connection's.
#[derive(Debug, Clone)]
pub(crate) struct Budgets {
    pub(crate) host: Arc<Semaphore>,
    pub(crate) conn: Arc<Semaphore>,
}

impl Budgets {
    async fn take(&self, bytes: usize, deadline: Instant, held: &mut Held) -> Result<(), ReadError> {
        let n = u32::try_from(bytes).unwrap_or(u32::MAX);
        for budget in [&self.conn, &self.host] {
            let permit = timeout_at(deadline, budget.clone().acquire_many_owned(n))
                .await
                .map_err(|_| ReadError::Slow)?
                .map_err(|_| ReadError::Io(std::io::ErrorKind::BrokenPipe.into()))?;
            held.0.push(permit);
        }
        Ok(())
    }
}

/// One complete client frame.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) message: Vec<u8>,
    pub(crate) msg_type: MessageType,
    pub(crate) held: Held,
}

/// Why no frame was read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// No frame began before the deadline for the next one (handshake or idle).
    Quiet,
    /// A frame began but did not complete before its deadline.
    Slow,
    /// Refused at the header.
    Refused(HostError),
    /// The peer closed mid-frame, or the socket failed.
    Io(std::io::Error),
}

/// When the frame being read must be complete, and the deadline for its first byte.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// The first byte of the next frame must arrive by then.
    pub(crate) first_byte: Instant,
    /// The whole frame must be in by then, if earlier than the frame timeout allows (the
    /// handshake deadline).
    pub(crate) hard: Option<Instant>,
    /// From a frame's first byte to its last.
    pub(crate) frame_timeout: Duration,
}

/// Reads the next frame of `conn`; `Ok(None)` at a clean end of stream.
pub(crate) async fn read_frame(
    rd: &mut (impl AsyncRead + Unpin),
    host: &Host,
    conn: ConnId,
    budgets: &Budgets,
    deadlines: Deadlines,
) -> Result<Option<Incoming>, ReadError> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    let got = timeout_at(deadlines.first_byte, rd.read(&mut header))
        .await
        .map_err(|_| ReadError::Quiet)?
        .map_err(ReadError::Io)?;
    if got == 0 {
        return Ok(None);
    }
    let mut deadline = Instant::now() + deadlines.frame_timeout;
    if let Some(hard) = deadlines.hard {
        deadline = deadline.min(hard);
    }
    timeout_at(deadline, rd.read_exact(&mut header[got..]))
        .await
        .map_err(|_| ReadError::Slow)?
        .map_err(ReadError::Io)?;
    let (msg_type, body_len) =
        Frame::parse_header(&header, MAX_FRAME_BODY).map_err(|e| ReadError::Refused(HostError::Malformed(e)))?;
    let total = FRAME_HEADER_LEN + body_len;
    let max = host.frame_limit(conn, msg_type).map_err(ReadError::Refused)?;
    if total > max {
        return Err(ReadError::Refused(HostError::TooLarge { len: total, max }));
    }
    let mut held = Held::default();
    let mut message = header.to_vec();
    while message.len() < total {
        // A frame of up to two chunks is budgeted and allocated at once (the common record
        // needs no reallocation); a larger one chunk by chunk. Memory is allocated only
        // once its bytes are budgeted, so a peer that announces much and sends little
        // holds nothing.
        let left = total - message.len();
        let chunk = if left <= 2 * CHUNK { left } else { CHUNK };
        budgets.take(chunk, deadline, &mut held).await?;
        message.reserve(chunk);
        let want = message.len() + chunk;
        // Into the spare capacity: no zero-filling of bytes about to be overwritten.
        let read = timeout_at(deadline, (&mut *rd).take(chunk as u64).read_to_end(&mut message))
            .await
            .map_err(|_| ReadError::Slow)?
            .map_err(ReadError::Io)?;
        if read == 0 || message.len() < want {
            return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
    Ok(Some(Incoming {
        message,
        msg_type,
        held,
    }))
}
