//! The enclave's in-order inbox (`sc_enclave::order::Inbox`) driven by a hostile host:
//! records queued with any header number, any number of times, the session's count moving
//! only when the record handed out "opened", ends at any point. Nothing may panic; a record
//! is handed out only when its number is the one expected; what the inbox holds stays
//! within its bounds; every byte taken from the shared budget is given back; every waiting
//! record is answered exactly once (handed out, refused, or dropped with an error).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sc_boundary::{Reply, Response};
use sc_enclave::order::{Budget, Inbox, MAX_WAITING, Waiting};
use sc_protocol::UnixTime;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Arbitrary, Debug)]
enum Op {
    /// The host queues a record whose header says `offset` past the expected number
    /// (`behind`: before it), of `len` bytes.
    Queue { offset: u8, behind: bool, len: u16 },
    /// The session's handler takes the next record; `opens` says whether it authenticated.
    Handle { opens: bool },
    /// Time passes.
    Wait { secs: u8 },
    /// The session ends.
    End,
}

fuzz_target!(|ops: Vec<Op>| {
    let budget = Budget::new(64 * 1024);
    let answered = Arc::new(AtomicUsize::new(0));
    let mut made = 0usize;
    let mut next = 0u64;
    let mut now = UnixTime::from_secs(1_800_000_000);
    let mut inbox = Inbox::new(next, budget.clone());
    for op in ops.iter().take(256) {
        match op {
            Op::Queue { offset, behind, len } => {
                let seq = if *behind {
                    next.saturating_sub(u64::from(*offset) + 1)
                } else {
                    next + u64::from(*offset)
                };
                let counter = answered.clone();
                made += 1;
                let w = Waiting {
                    function: 1,
                    record: seq.to_be_bytes().iter().copied().cycle().take(usize::from(*len).max(8)).collect(),
                    reply: Reply::new(move |_r: Response| {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }),
                };
                if let Err((_, w)) = inbox.queue(seq, w, now) {
                    w.reply.send(Response::Done);
                }
            }
            Op::Handle { opens } => {
                if let Some(w) = inbox.take() {
                    let seq = u64::from_be_bytes(w.record[..8].try_into().unwrap());
                    assert_eq!(seq, next, "a record handed out out of turn");
                    if *opens {
                        next += 1;
                    }
                    inbox.advance(next, now);
                    w.reply.send(Response::Done);
                }
            }
            Op::Wait { secs } => {
                now = now.saturating_add(std::time::Duration::from_secs(u64::from(*secs)));
                let _ = inbox.gap_expired(now, std::time::Duration::from_secs(5));
            }
            Op::End => {
                drop(inbox.end());
                assert!(inbox.take().is_none());
            }
        }
        assert!(budget.used() <= 64 * 1024);
        let _ = MAX_WAITING;
    }
    drop(inbox);
    assert_eq!(budget.used(), 0, "budget not given back");
    assert_eq!(answered.load(Ordering::SeqCst), made, "a record not answered exactly once");
});
