//! The transport state: what a finished handshake turns into.
//!
//! Record layout (docs/PROTOCOL.md, "Records"):
//!
//! ```text
//! frame header (6) | u64 session_id | u32 epoch | u64 sequence | ciphertext | tag (16)
//! ```
//! The first 26 bytes are the AEAD's associated data.

use super::keys::EpochKeys;
use crate::attestation::Claims;
use crate::config::SessionLimits;
use crate::crypto::key_schedule::TrafficSecrets;
use crate::error::RecordError;
use crate::msgs::{
    CloseBody, CloseReason, FRAME_HEADER_LEN, Frame, MAX_FRAME_BODY, MessageType, RECORD_HEADER_LEN, RecordHeader,
    decode_end_of_stream, frame_header,
};
use crate::suite::CipherSuite;
use crate::time::UnixTime;
use alloc::boxed::Box;
use alloc::vec::Vec;

const TAG_LEN: usize = 16;

/// Which end of the channel a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The data owner's side.
    Client,
    /// The enclave's side.
    Enclave,
}

struct SendState {
    keys: EpochKeys,
    next_sequence: u64,
    records_in_epoch: u64,
    bytes_in_epoch: u64,
    closed: bool,
    /// EndOfStream sent: no more data.
    ended: bool,
}

struct RecvState {
    current: EpochKeys,
    /// The sequence number the peer's next record must carry: records are accepted
    /// strictly in order, so this is also how many were accepted.
    next_sequence: u64,
    closed: bool,
    /// EndOfStream received: no more data may come.
    ended: bool,
}

/// What an opened record carried.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Application data, decrypted in place.
    Data(&'a mut [u8]),
    /// The peer closed the session; nothing more will be accepted. It says how many of
    /// this side's records it had accepted, and why it closed.
    Close(CloseBody),
    /// The peer ended its stream (a half-close, on stream sessions): no more data will
    /// come from it; the session stays open for sending and for Close. `received` is how
    /// many of this side's records it had accepted then.
    EndOfStream {
        /// This side's records the peer had accepted.
        received: u64,
    },
}

/// An established session: seals outgoing and opens incoming records.
pub struct Session {
    id: u64,
    suite: CipherSuite,
    role: Role,
    established: UnixTime,
    limits: SessionLimits,
    send: SendState,
    recv: RecvState,
    peer: Option<Box<Claims>>,
    /// The enclave answers the ClientFinished and a Close with records (negotiated).
    acknowledged: bool,
    /// EndOfStream records and unsolicited enclave data (negotiated: `streams`).
    streams: bool,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("suite", &self.suite)
            .field("role", &self.role)
            .field("send_epoch", &self.send.keys.epoch)
            .field("recv_epoch", &self.recv.current.epoch)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Built by the handshakes from the epoch-0 traffic secrets.
    pub(crate) fn new(
        id: u64,
        suite: CipherSuite,
        role: Role,
        established: UnixTime,
        limits: SessionLimits,
        secrets: TrafficSecrets,
        peer: Option<Claims>,
    ) -> Self {
        let TrafficSecrets {
            client_to_enclave,
            enclave_to_client,
        } = secrets;
        let (send, recv) = match role {
            Role::Client => (client_to_enclave, enclave_to_client),
            Role::Enclave => (enclave_to_client, client_to_enclave),
        };
        Self {
            id,
            suite,
            role,
            established,
            limits,
            send: SendState {
                keys: EpochKeys::new(suite, 0, send),
                next_sequence: 0,
                records_in_epoch: 0,
                bytes_in_epoch: 0,
                closed: false,
                ended: false,
            },
            recv: RecvState {
                current: EpochKeys::new(suite, 0, recv),
                next_sequence: 0,
                closed: false,
                ended: false,
            },
            peer: peer.map(Box::new),
            acknowledged: false,
            streams: false,
        }
    }

    /// The session id assigned by the enclave.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The negotiated suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Reports the epoch-0 secrets to a key log (client side, when configured).
    pub(crate) fn log_keys(&self, log: &dyn crate::config::KeyLog) {
        let client = self.role == Role::Client;
        self.send.keys.log(log, self.id, client);
        self.recv.current.log(log, self.id, !client);
    }

    /// Drops the expanded AEAD key schedules (about 1 KiB per session with AES-256-GCM);
    /// the next seal or open rebuilds what it needs (a few hundred nanoseconds). For
    /// session tables that hold many mostly idle sessions.
    pub fn park(&mut self) {
        self.send.keys.park();
        self.recv.current.park();
    }

    /// The enclave's verified claims (client side only).
    pub fn peer_claims(&self) -> Option<&Claims> {
        self.peer.as_deref()
    }

    /// Current sending key epoch.
    pub fn send_epoch(&self) -> u32 {
        self.send.keys.epoch
    }

    /// Current receiving key epoch.
    pub fn recv_epoch(&self) -> u32 {
        self.recv.current.epoch
    }

    /// How many of the peer's records were accepted: the sequence number its next record
    /// must carry.
    pub fn received(&self) -> u64 {
        self.recv.next_sequence
    }

    /// The sequence number of the next record this side seals (how many it has sealed).
    pub fn sent(&self) -> u64 {
        self.send.next_sequence
    }

    /// Whether the session is past its lifetime at `now`.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now.since(self.established) >= self.limits.lifetime
    }

    /// The wire size of a record carrying `plaintext_len` bytes.
    pub const fn record_len(plaintext_len: usize) -> usize {
        RECORD_HEADER_LEN + plaintext_len + TAG_LEN
    }

    /// Seals `plaintext` into a new record.
    pub fn seal(&mut self, now: UnixTime, plaintext: &[u8]) -> Result<Vec<u8>, RecordError> {
        let mut buf = Vec::with_capacity(Self::record_len(plaintext.len()));
        buf.resize(RECORD_HEADER_LEN, 0);
        buf.extend_from_slice(plaintext);
        self.seal_in_place(now, &mut buf)?;
        Ok(buf)
    }

    /// Seals in place without copying: `buf` holds [`RECORD_HEADER_LEN`] reserved bytes
    /// followed by the plaintext; on success it holds the whole record (the tag is
    /// appended, so reserve 16 bytes of capacity to avoid a reallocation).
    pub fn seal_in_place(&mut self, now: UnixTime, buf: &mut Vec<u8>) -> Result<(), RecordError> {
        self.seal_typed(now, MessageType::ApplicationData, buf)
    }

    /// A record ending this side's stream (a half-close, on a stream session): no more
    /// data may be sealed afterwards, while the peer may go on sending and either side may
    /// still Close.
    pub fn seal_end_of_stream(&mut self, now: UnixTime) -> Result<Vec<u8>, RecordError> {
        if !self.streams {
            return Err(RecordError::UnexpectedRecord(MessageType::EndOfStream));
        }
        let mut buf = alloc::vec![0u8; RECORD_HEADER_LEN];
        buf.extend_from_slice(&self.recv.next_sequence.to_be_bytes());
        self.seal_typed(now, MessageType::EndOfStream, &mut buf)?;
        self.send.ended = true;
        Ok(buf)
    }

    /// A record telling the peer the session is over, why, and how many of its records
    /// this side accepted (so the peer knows which of them were never received). Sending
    /// is closed afterwards.
    pub fn seal_close(&mut self, now: UnixTime, reason: CloseReason) -> Result<Vec<u8>, RecordError> {
        let mut buf = alloc::vec![0u8; RECORD_HEADER_LEN];
        let body = CloseBody {
            received: self.recv.next_sequence,
            reason,
        };
        buf.extend_from_slice(&body.encode());
        self.seal_typed(now, MessageType::Close, &mut buf)?;
        self.send.closed = true;
        Ok(buf)
    }

    /// Seals `plaintext` into `out`, which must hold at least
    /// [`Session::record_len`]`(plaintext.len())` bytes; returns the record's length. No
    /// allocation: for callers that own the output buffer (the C interface).
    pub fn seal_into(&mut self, now: UnixTime, plaintext: &[u8], out: &mut [u8]) -> Result<usize, RecordError> {
        let total = Self::record_len(plaintext.len());
        let Some(record) = out.get_mut(..total) else {
            return Err(RecordError::OutputTooSmall { needed: total });
        };
        let (body, tag_room) = record.split_at_mut(total - TAG_LEN);
        body[RECORD_HEADER_LEN..].copy_from_slice(plaintext);
        let tag = self.seal_slice(now, MessageType::ApplicationData, body)?;
        tag_room.copy_from_slice(tag.as_ref());
        Ok(total)
    }

    fn seal_typed(&mut self, now: UnixTime, msg_type: MessageType, buf: &mut Vec<u8>) -> Result<(), RecordError> {
        let tag = self.seal_slice(now, msg_type, buf)?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Seals `buf` (header room, then plaintext) in place and returns the tag.
    fn seal_slice(
        &mut self,
        now: UnixTime,
        msg_type: MessageType,
        buf: &mut [u8],
    ) -> Result<ring::aead::Tag, RecordError> {
        if self.send.closed {
            return Err(RecordError::Closed);
        }
        if self.send.ended && msg_type != MessageType::Close {
            return Err(RecordError::StreamEnded);
        }
        if self.is_expired(now) {
            return Err(RecordError::Expired);
        }
        let Some(len) = buf.len().checked_sub(RECORD_HEADER_LEN) else {
            return Err(RecordError::MissingHeaderRoom);
        };
        if len > self.limits.max_record_plaintext {
            return Err(RecordError::TooLarge {
                len,
                max: self.limits.max_record_plaintext,
            });
        }
        let sequence = self.send.next_sequence;
        if sequence == u64::MAX {
            return Err(RecordError::KeyUpdateExhausted);
        }
        self.update_send_key_if_due(len as u64)?;

        let (header, payload) = buf.split_at_mut(RECORD_HEADER_LEN);
        write_header(header, msg_type, self.id, self.send.keys.epoch, sequence, len);
        let tag = self.send.keys.seal(sequence, header, payload)?;

        self.send.next_sequence = sequence + 1;
        self.send.records_in_epoch += 1;
        self.send.bytes_in_epoch += len as u64;
        Ok(tag)
    }

    /// Moves to the next epoch before a record would cross a key-usage limit.
    fn update_send_key_if_due(&mut self, len: u64) -> Result<(), RecordError> {
        let limits = &self.limits.key_update;
        let s = &self.send;
        let due = s.records_in_epoch >= limits.max_records
            || (s.records_in_epoch > 0 && s.bytes_in_epoch.saturating_add(len) > limits.max_bytes);
        if due {
            self.send.keys = self.send.keys.next(self.suite).ok_or(RecordError::KeyUpdateExhausted)?;
            self.send.records_in_epoch = 0;
            self.send.bytes_in_epoch = 0;
        }
        Ok(())
    }

    /// Opens a record in place. On success the plaintext is a sub-slice of `record`; on
    /// failure the session is unchanged (a forged or replayed record costs nothing, and
    /// the genuine record with that sequence number still opens). Records are accepted
    /// strictly in sequence: any other number is [`RecordError::OutOfSequence`].
    pub fn open_in_place<'a>(&mut self, now: UnixTime, record: &'a mut [u8]) -> Result<Incoming<'a>, RecordError> {
        let streams = self.streams;
        let ended = self.recv.ended;
        let (msg_type, plaintext) = self.open_typed(now, record, |t| match t {
            MessageType::Close => true,
            // Nothing but Close after the peer's EndOfStream; EndOfStream only if negotiated.
            MessageType::ApplicationData => !ended,
            MessageType::EndOfStream => streams && !ended,
            _ => false,
        })?;
        let incoming = match msg_type {
            MessageType::Close => {
                let body = CloseBody::decode(plaintext).map_err(|_| RecordError::BadEnd)?;
                self.check_claimed(body.received)?;
                Incoming::Close(body)
            }
            MessageType::EndOfStream => {
                let received = decode_end_of_stream(plaintext).map_err(|_| RecordError::BadEnd)?;
                self.check_claimed(received)?;
                Incoming::EndOfStream { received }
            }
            _ => Incoming::Data(plaintext),
        };
        // Only now, with the record authenticated and understood, does anything change.
        self.recv.next_sequence += 1;
        match incoming {
            Incoming::Close(_) => self.recv.closed = true,
            Incoming::EndOfStream { .. } => self.recv.ended = true,
            Incoming::Data(_) => {}
        }
        Ok(incoming)
    }

    /// An end may not claim more of this side's records than were sealed (the record
    /// authenticated, so such a claim is a broken peer: refused, nothing changes).
    fn check_claimed(&self, received: u64) -> Result<(), RecordError> {
        if received > self.send.next_sequence {
            return Err(RecordError::BadEnd);
        }
        Ok(())
    }

    /// Opens a record whose type `wanted` accepts (checked before anything is decrypted or
    /// any state changes). Changes only the receiving epoch (a key update that
    /// authenticated); the caller counts the record once it accepts what it says.
    fn open_typed<'a>(
        &mut self,
        now: UnixTime,
        record: &'a mut [u8],
        wanted: impl Fn(MessageType) -> bool,
    ) -> Result<(MessageType, &'a mut [u8]), RecordError> {
        if self.recv.closed {
            return Err(RecordError::Closed);
        }
        if self.is_expired(now) {
            return Err(RecordError::Expired);
        }
        let max_body = Self::record_len(self.limits.max_record_plaintext) - FRAME_HEADER_LEN;
        let frame = Frame::parse(record, max_body.min(MAX_FRAME_BODY))?;
        let msg_type = frame.msg_type;
        if !msg_type.is_record() {
            return Err(RecordError::NotARecord(msg_type));
        }
        if !wanted(msg_type) {
            return Err(RecordError::UnexpectedRecord(msg_type));
        }
        let header = RecordHeader::read(frame.body)?;
        if record.len() < RECORD_HEADER_LEN + TAG_LEN {
            return Err(RecordError::Decode(crate::codec::DecodeError::Truncated("record tag")));
        }
        if header.session_id != self.id {
            return Err(RecordError::WrongSession);
        }
        // Strictly in sequence: a gap (a record lost or held back), a reordering or a
        // replay is refused, and only the expected record can ever be accepted next.
        let expected = self.recv.next_sequence;
        if header.sequence != expected {
            return Err(RecordError::OutOfSequence {
                expected,
                received: header.sequence,
            });
        }

        // A record from the next epoch is the peer's key update; the new keys are kept
        // only if the record authenticates under them. Records come in order, so no
        // earlier epoch is ever needed again.
        let mut next = None;
        let keys: &mut EpochKeys = match header.epoch {
            e if e == self.recv.current.epoch => &mut self.recv.current,
            e if Some(e) == self.recv.current.epoch.checked_add(1) => {
                next.insert(self.recv.current.next(self.suite).ok_or(RecordError::BadEpoch)?)
            }
            _ => return Err(RecordError::BadEpoch),
        };
        let (aad, ciphertext) = record.split_at_mut(RECORD_HEADER_LEN);
        let plaintext = keys.open(header.sequence, aad, ciphertext)?;

        if let Some(new) = next {
            self.recv.current = new;
        }
        Ok((msg_type, plaintext))
    }

    /// Whether the enclave answers this session's ClientFinished with a SessionAck record
    /// and its Close with a Close record (negotiated in the handshake).
    pub fn acknowledged(&self) -> bool {
        self.acknowledged
    }

    pub(crate) fn set_acknowledged(&mut self) {
        self.acknowledged = true;
    }

    /// Whether this is a stream session (extension `streams` negotiated): EndOfStream
    /// records both ways, enclave data that answers nothing.
    pub fn streams(&self) -> bool {
        self.streams
    }

    pub(crate) fn set_streams(&mut self) {
        self.streams = true;
    }

    /// Seals the enclave's SessionAck: the answer to the ClientFinished on an acknowledged
    /// session, the first record the enclave sends. Its plaintext is an (empty) extension
    /// block, where later versions can carry what a session hands out (resumption).
    pub fn seal_ack(&mut self, now: UnixTime) -> Result<Vec<u8>, RecordError> {
        if !self.acknowledged || self.role != Role::Enclave {
            return Err(RecordError::UnexpectedRecord(MessageType::SessionAck));
        }
        let mut buf = alloc::vec![0u8; RECORD_HEADER_LEN + 2];
        self.seal_typed(now, MessageType::SessionAck, &mut buf)?;
        Ok(buf)
    }

    /// Opens the enclave's SessionAck (client side, acknowledged sessions): it must
    /// authenticate, and carry no extension (none is asked for in version 1).
    pub fn open_ack(&mut self, now: UnixTime, record: &[u8]) -> Result<(), RecordError> {
        if !self.acknowledged {
            return Err(RecordError::UnexpectedRecord(MessageType::SessionAck));
        }
        let mut buf = record.to_vec();
        let (_, plaintext) = self.open_typed(now, &mut buf, |t| t == MessageType::SessionAck)?;
        let mut r = crate::codec::Reader::new(plaintext);
        let extensions = crate::msgs::read_extensions(&mut r)?;
        r.expect_end("session ack")?;
        if !extensions.is_empty() {
            // Nothing is asked for in this version, so nothing may come.
            return Err(RecordError::UnexpectedRecord(MessageType::SessionAck));
        }
        self.recv.next_sequence += 1;
        Ok(())
    }

    /// Opens a data record into a new vector. The peer's Close is
    /// `Err(RecordError::PeerClosed(what it said))`, and on a stream session its
    /// EndOfStream is `Err(RecordError::StreamEnded)`, both accepted (use
    /// [`Session::open_in_place`] to tell them apart without an error).
    pub fn open(&mut self, now: UnixTime, record: &[u8]) -> Result<Vec<u8>, RecordError> {
        let mut buf = record.to_vec();
        match self.open_in_place(now, &mut buf)? {
            Incoming::Data(p) => Ok(p.to_vec()),
            Incoming::Close(close) => Err(RecordError::PeerClosed(close)),
            Incoming::EndOfStream { .. } => Err(RecordError::StreamEnded),
        }
    }
}

fn write_header(out: &mut [u8], msg_type: MessageType, session_id: u64, epoch: u32, sequence: u64, len: usize) {
    // Callers bound `len` by the record limit (at most MAX_RECORD_PLAINTEXT), so the body
    // fits the u32 length field; a larger one would be a bug, refused by the header's type.
    let body_len = RECORD_HEADER_LEN - FRAME_HEADER_LEN + len + TAG_LEN;
    out[..FRAME_HEADER_LEN].copy_from_slice(&frame_header(msg_type, body_len as u32));
    let mut rh = [0u8; 20];
    RecordHeader {
        session_id,
        epoch,
        sequence,
    }
    .write(&mut rh);
    out[FRAME_HEADER_LEN..RECORD_HEADER_LEN].copy_from_slice(&rh);
}
