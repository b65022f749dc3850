//! A connection's data records to the enclave and their replies back, in batches.
//!
//! Why batches: every hand-off between threads costs a wake-up (tens of microseconds on
//! a busy machine), and with one blocking task per record the host spent more time waking
//! threads than relaying (profiled: over half the host's CPU in futex waits and wakes at
//! 64 KiB records). The reader queues records; one blocking task per connection at a time
//! submits every queued record in order, waits for their replies in order, hands them to
//! the writer, and exits when the queue is empty (so a connection holds an enclave-call
//! thread only while it has records in flight, and idle connections hold none).

use super::frames::Held;
use crate::{ConnId, Host, HostError, PendingReply, Routed};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

/// A record read from the client, with the budget it holds.
pub(crate) struct Record {
    pub(crate) message: Vec<u8>,
    pub(crate) held: Held,
    pub(crate) slot: OwnedSemaphorePermit,
}

/// What the writer sends, in order.
pub(crate) enum Outgoing {
    /// A handshake reply.
    Ready(Vec<u8>),
    /// A record's reply (or why there is none), with the record's budget.
    Reply {
        result: Result<Vec<u8>, HostError>,
        release: Release,
    },
}

/// A record's budget and pipeline slot, released when dropped (once its reply is sent).
pub(crate) struct Release {
    _held: Held,
    _slot: OwnedSemaphorePermit,
}

#[derive(Default)]
struct Queue {
    records: VecDeque<Record>,
    running: bool,
}

/// The pump of one connection.
#[derive(Clone)]
pub(crate) struct Pump {
    host: Arc<Host>,
    conn: ConnId,
    queue: Arc<Mutex<Queue>>,
    out: mpsc::Sender<Outgoing>,
}

impl Pump {
    pub(crate) fn new(host: Arc<Host>, conn: ConnId, out: mpsc::Sender<Outgoing>) -> Self {
        Self {
            host,
            conn,
            queue: Arc::default(),
            out,
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a record; starts the pump's blocking task unless it is running.
    pub(crate) fn push(&self, record: Record) {
        let start = {
            let mut q = self.queue();
            q.records.push_back(record);
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            let pump = self.clone();
            tokio::task::spawn_blocking(move || pump.run());
        }
    }

    /// Submits and answers one batch (every record queued now), then hands over: if more
    /// records came meanwhile, a new blocking task takes them, queued behind other
    /// connections' (so that a busy connection cannot keep an enclave-call thread to
    /// itself while others wait).
    fn run(self) {
        {
            let batch: Vec<Record> = {
                let mut q = self.queue();
                if q.records.is_empty() {
                    q.running = false;
                    return;
                }
                q.records.drain(..).collect()
            };
            let mut in_flight = Vec::with_capacity(batch.len());
            let mut failed = false;
            for r in batch {
                let submitted = if failed {
                    Err(HostError::OutOfPlace("an earlier record failed"))
                } else {
                    match self.host.submit_owned(self.conn, r.message) {
                        Ok(Routed::Pending(p)) => Ok(p),
                        Ok(_) => Err(HostError::OutOfPlace("data record without a pending reply")),
                        Err(e) => Err(e),
                    }
                };
                failed |= submitted.is_err();
                in_flight.push((submitted, r.held, r.slot));
            }
            for (submitted, held, slot) in in_flight {
                let result = submitted.and_then(PendingReply::wait);
                let reply = Outgoing::Reply {
                    result,
                    release: Release {
                        _held: held,
                        _slot: slot,
                    },
                };
                if self.out.blocking_send(reply).is_err() {
                    // The connection is gone; drop what is queued.
                    let mut q = self.queue();
                    q.records.clear();
                    q.running = false;
                    return;
                }
            }
        }
        let more = {
            let mut q = self.queue();
            q.running = !q.records.is_empty();
            q.running
        };
        if more {
            tokio::task::spawn_blocking(move || self.run());
        }
    }
}
