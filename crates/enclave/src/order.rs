//! A session's client records handled one at a time, in sequence order: the one mechanism
//! that request/reply sessions and stream sessions share.
//!
//! Why: the record layer accepts records strictly in sequence (docs/PROTOCOL.md §10), but
//! the host pipelines a connection's records and the enclave's workers take calls in
//! parallel, so record n+1 can reach the enclave's code a moment before record n. The
//! [`Inbox`] restores the order the client sent in, by the sequence number in the record's
//! header, without widening what the record layer accepts: the header is only a hint for
//! the queue, and what moves the queue on is the session's own count of records it
//! *authenticated* ([`Inbox::advance`]). So a record the host forged with number n fails
//! to open, leaves n expected, and the genuine record n (waiting beside it, or coming
//! later) is handled next: a forgery can neither delete nor replace a genuine record.
//!
//! The waiting records are bounded per session ([`MAX_WAITING`], [`MAX_WAITING_BYTES`])
//! and across the enclave ([`Budget`]): the host is not trusted to keep its pipeline
//! short. A gap that does not fill within [`ORDER_WAIT`] is a host that dropped a record:
//! the session ends (the record layer would refuse everything after the gap anyway).

use crate::error::EnclaveError;
use sc_boundary::Reply;
use sc_protocol::UnixTime;
use sc_protocol::msgs::{Frame, MAX_FRAME_BODY, RecordHeader};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long client records may wait for a missing one before them (a host that lost
/// one) by default ([`crate::EnclaveLimits::order_wait`]). Why 5 s: an honest host's
/// records overtake each other only between the enclave's worker threads, by
/// microseconds (a descheduled worker: milliseconds); and it is well under the host's
/// 10 s deadline per call (`serve`), so the enclave's Close, which tells the client how
/// many of its records arrived, reaches the client before the host gives up the call.
pub const ORDER_WAIT: Duration = Duration::from_secs(5);

/// The most client records of one session waiting to be handled (twice the host's
/// pipeline per connection); more is a host that floods the enclave, and is refused.
pub const MAX_WAITING: usize = 64;

/// The most bytes of client records of one session waiting to be handled: eight times
/// what the host keeps in flight per connection by default (its connection window, 4 MiB).
pub const MAX_WAITING_BYTES: usize = 32 * 1024 * 1024;

/// The most bytes of client records waiting across all sessions of an enclave by default:
/// eight sessions' worth at their own limit. Why a global cap: the per-session one times
/// a million sessions is no bound at all.
pub const DEFAULT_GLOBAL_WAITING_BYTES: usize = 256 * 1024 * 1024;

/// The bytes all inboxes of one enclave may hold together (shared by every session).
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(bytes).filter(|&n| n <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One client record and where its answer goes.
pub struct Waiting {
    /// The application function the host named.
    pub function: u32,
    /// The record, still encrypted.
    pub record: Vec<u8>,
    /// Where the answer goes.
    pub reply: Reply,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("function", &self.function)
            .field("bytes", &self.record.len())
            .finish()
    }
}

/// The sequence number in a record's header (unauthenticated: a hint for ordering only).
pub fn sequence_of(record: &[u8]) -> Option<u64> {
    header_of(record).map(|h| h.sequence)
}

/// The sequence number of a client record for session `id`, for the queue: refused at
/// once when it is not a record or names another session (it could never open here, and
/// must not wait in this session's queue).
pub fn queue_position(id: u64, record: &[u8]) -> Result<u64, EnclaveError> {
    match header_of(record) {
        None => Err(EnclaveError::Unexpected("not a record")),
        Some(h) if h.session_id != id => Err(EnclaveError::Record(sc_protocol::RecordError::WrongSession)),
        Some(h) => Ok(h.sequence),
    }
}

fn header_of(record: &[u8]) -> Option<RecordHeader> {
    Frame::parse(record, MAX_FRAME_BODY)
        .ok()
        .and_then(|f| RecordHeader::read(f.body).ok())
}

/// A session's client records waiting for their turn.
#[derive(Debug)]
pub struct Inbox {
    /// The sequence number the session expects next (its authenticated count).
    next: u64,
    /// Candidates by the number in their header, then by arrival (more than one per
    /// number when the host sent a forgery or a duplicate beside the genuine record). One
    /// map keyed by both: no allocation per number beyond the map's own nodes.
    waiting: BTreeMap<(u64, u64), Waiting>,
    /// Records queued so far (the arrival order among candidates for one number).
    arrivals: u64,
    /// The bytes of the records waiting (taken from the budget).
    bytes: usize,
    budget: Arc<Budget>,
    /// Since when records wait while the next one is missing.
    gap_since: Option<UnixTime>,
    /// Someone is handling this session's records now (request/reply sessions: the
    /// worker that found the session idle handles what queues behind it).
    pub busy: bool,
    /// The session ended: nothing more is taken, and what waits is answered with an error.
    ended: bool,
}

impl Inbox {
    /// An empty inbox expecting record `next`, drawing on `budget`.
    pub fn new(next: u64, budget: Arc<Budget>) -> Self {
        Self {
            next,
            waiting: BTreeMap::new(),
            arrivals: 0,
            bytes: 0,
            budget,
            gap_since: None,
            busy: false,
            ended: false,
        }
    }

    /// Queues `w`, whose header says `sequence`. Refused (and handed back to be answered
    /// at once) when the session ended, when it is behind the expected number (a replay
    /// or a record already handled: the record layer would refuse it too), or when too
    /// much waits. A refusal changes nothing.
    pub fn queue(&mut self, sequence: u64, w: Waiting, now: UnixTime) -> Result<(), (EnclaveError, Waiting)> {
        let len = w.record.len();
        let refused = if self.ended {
            Some(EnclaveError::UnknownSession)
        } else if sequence < self.next {
            Some(EnclaveError::Record(sc_protocol::RecordError::OutOfSequence {
                expected: self.next,
                received: sequence,
            }))
        } else if self.waiting.len() >= MAX_WAITING
            || sequence - self.next >= MAX_WAITING as u64
            || self.bytes + len > MAX_WAITING_BYTES
            || !self.budget.take(len)
        {
            Some(EnclaveError::Busy)
        } else {
            None
        };
        if let Some(e) = refused {
            return Err((e, w));
        }
        self.bytes += len;
        self.waiting.insert((sequence, self.arrivals), w);
        self.arrivals += 1;
        if sequence != self.next && self.gap_since.is_none() {
            self.gap_since = Some(now);
        }
        Ok(())
    }

    /// Whether a record numbered `sequence` is the one expected now (and the inbox open).
    pub fn expects(&self, sequence: u64) -> bool {
        !self.ended && sequence == self.next
    }

    /// The next record to handle (the oldest candidate with the expected number), if it
    /// is here.
    pub fn take(&mut self) -> Option<Waiting> {
        if self.ended {
            return None;
        }
        let slot = self.waiting.first_entry()?;
        if slot.key().0 != self.next {
            return None;
        }
        let w = slot.remove();
        self.release(&w);
        Some(w)
    }

    /// Gives a record's bytes back as it leaves the inbox.
    fn release(&mut self, w: &Waiting) {
        self.bytes -= w.record.len();
        self.budget.give_back(w.record.len());
    }

    /// After a record was handled at `now`: the session's authenticated count of client
    /// records. Candidates now behind it (the duplicates of a record that opened) are
    /// answered with an error as they drop.
    pub fn advance(&mut self, next: u64, now: UnixTime) {
        // Progress restarts the clock of a gap; a record that did not open is no progress.
        if next != self.next {
            self.gap_since = None;
        }
        self.next = next;
        if self.waiting.first_key_value().is_some_and(|(&(s, _), _)| s < next) {
            let ahead = self.waiting.split_off(&(next, 0));
            for (_, stale) in std::mem::replace(&mut self.waiting, ahead) {
                self.release(&stale);
            }
        }
        self.gap_since = match self.waiting.first_key_value() {
            Some((&(s, _), _)) if s != next => self.gap_since.or(Some(now)),
            _ => None,
        };
    }

    /// Whether records wait for a missing one, and since when.
    pub fn gap_since(&self) -> Option<UnixTime> {
        if self
            .waiting
            .first_key_value()
            .is_some_and(|(&(s, _), _)| s != self.next)
        {
            self.gap_since
        } else {
            None
        }
    }

    /// Whether a gap has lasted `wait` at `now`.
    pub fn gap_expired(&self, now: UnixTime, wait: Duration) -> bool {
        self.gap_since().is_some_and(|since| now.since(since) >= wait)
    }

    /// Whether anything waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Ends the inbox: what waits is returned (to be answered with an error by its
    /// dropping), and nothing more is taken.
    pub fn end(&mut self) -> Vec<Waiting> {
        self.ended = true;
        self.busy = false;
        self.gap_since = None;
        let waiting = std::mem::take(&mut self.waiting);
        self.budget.give_back(self.bytes);
        self.bytes = 0;
        waiting.into_values().collect()
    }

    /// Whether the inbox was ended.
    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sc_boundary::Response;
    use std::sync::mpsc::{Sender, channel};

    fn waiting(tag: u8, answers: &Sender<(u8, Response)>) -> Waiting {
        let answers = answers.clone();
        Waiting {
            function: 1,
            record: vec![tag],
            reply: Reply::new(move |r| answers.send((tag, r)).unwrap()),
        }
    }

    #[test]
    fn out_of_order_in_in_order_out_and_forgeries_do_not_take_a_genuine_records_place() {
        let (answers, answered) = channel();
        let budget = Budget::new(1 << 20);
        let mut inbox = Inbox::new(0, budget.clone());
        let now = UnixTime::from_secs(1_800_000_000);
        // A forgery (tag 9) with number 0 arrives first, then 2, 0 and 1.
        inbox.queue(0, waiting(9, &answers), now).map_err(|(e, _)| e).unwrap();
        for seq in [2u64, 0, 1] {
            inbox
                .queue(seq, waiting(seq as u8, &answers), now)
                .map_err(|(e, _)| e)
                .unwrap();
        }
        let first = inbox.take().unwrap();
        assert_eq!(first.record, [9]);
        // The forgery did not open, so the session still expects 0: the other candidate
        // for 0 is offered next, never record 1.
        inbox.advance(0, now);
        assert_eq!(inbox.take().unwrap().record, [0]);
        inbox.advance(1, now);
        assert_eq!(inbox.take().unwrap().record, [1]);
        inbox.advance(2, now);
        assert_eq!(inbox.take().unwrap().record, [2]);
        inbox.advance(3, now);
        assert!(inbox.take().is_none());
        assert_eq!(budget.used(), 0);
        drop((first, answers));
        assert!(answered.iter().all(|(_, r)| matches!(r, Response::Error(_))));
    }

    #[test]
    fn duplicates_left_behind_are_answered_and_replays_refused() {
        let (answers, answered) = channel();
        let budget = Budget::new(1 << 20);
        let mut inbox = Inbox::new(5, budget.clone());
        let now = UnixTime::from_secs(1_800_000_000);
        inbox.queue(5, waiting(1, &answers), now).map_err(|(e, _)| e).unwrap();
        inbox.queue(5, waiting(2, &answers), now).map_err(|(e, _)| e).unwrap();
        let genuine = inbox.take().unwrap();
        inbox.advance(6, now);
        // The duplicate still waiting behind the count is dropped, answered with an error.
        assert!(inbox.is_empty());
        assert_eq!(answered.try_recv().unwrap().0, 2);
        // A record behind the count is refused at once.
        let (e, _) = inbox.queue(4, waiting(3, &answers), now).unwrap_err();
        assert!(matches!(
            e,
            EnclaveError::Record(sc_protocol::RecordError::OutOfSequence {
                expected: 6,
                received: 4
            })
        ));
        drop(genuine);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn floods_are_refused_per_session_and_across_sessions() {
        let (answers, _answered) = channel();
        let budget = Budget::new(10);
        let mut a = Inbox::new(0, budget.clone());
        let mut b = Inbox::new(0, budget.clone());
        let now = UnixTime::from_secs(1_800_000_000);
        // Too far ahead of the next one.
        let (e, _) = a.queue(MAX_WAITING as u64, waiting(0, &answers), now).unwrap_err();
        assert!(matches!(e, EnclaveError::Busy));
        // The shared budget: 10 bytes across both inboxes.
        let mut big = waiting(0, &answers);
        big.record = vec![0; 8];
        a.queue(1, big, now).map_err(|(e, _)| e).unwrap();
        let mut more = waiting(0, &answers);
        more.record = vec![0; 3];
        let (e, more) = b.queue(1, more, now).unwrap_err();
        assert!(matches!(e, EnclaveError::Busy));
        assert_eq!(budget.used(), 8);
        // Ending an inbox gives its bytes back.
        drop(a.end());
        assert_eq!(budget.used(), 0);
        b.queue(1, more, now).map_err(|(e, _)| e).unwrap();
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_gap_is_timed_from_when_it_appeared() {
        let (answers, _answered) = channel();
        let mut inbox = Inbox::new(0, Budget::new(1 << 20));
        let then = UnixTime::from_secs(1_800_000_000);
        inbox.queue(1, waiting(1, &answers), then).map_err(|(e, _)| e).unwrap();
        assert_eq!(inbox.gap_since(), Some(then));
        assert!(!inbox.gap_expired(then.saturating_add(ORDER_WAIT / 2), ORDER_WAIT));
        assert!(inbox.gap_expired(then.saturating_add(ORDER_WAIT), ORDER_WAIT));
        inbox.queue(0, waiting(0, &answers), then).map_err(|(e, _)| e).unwrap();
        assert_eq!(inbox.gap_since(), None);
    }
}
