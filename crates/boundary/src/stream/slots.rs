//! The calls in flight: a slot per call where the reader thread puts its answer, and the
//! rules that keep answers with their callers: an answer goes to the slot of its call id
//! and is removed from the table in the same step, a withdrawn call's slot is gone before
//! its late answer can land, and the end of the stream fills every slot still waiting.
//! Separate from the I/O so that these rules are model-checked under loom
//! (`RUSTFLAGS="--cfg loom" cargo test -p sc-boundary --lib --release`).

use super::sync::{Arc, AtomicBool, Condvar, Mutex, MutexGuard, Ordering};
use crate::{BoundaryError, Response};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A call's outcome.
pub(super) type Answer = Result<Response, BoundaryError>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A caller's handle on its slot.
pub(super) type SlotRef = Arc<Slot>;

/// Where one call's answer lands.
#[derive(Default)]
pub(super) struct Slot {
    answer: Mutex<Option<Answer>>,
    ready: Condvar,
    filled: AtomicBool,
}

impl Slot {
    fn fill(&self, answer: Answer) {
        *lock(&self.answer) = Some(answer);
        self.filled.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// Whether the answer has landed (without taking a lock: for polling).
    pub(super) fn is_filled(&self) -> bool {
        self.filled.load(Ordering::Acquire)
    }

    /// Waits up to `pause` for the answer; returns it if it has landed.
    pub(super) fn wait_for(&self, pause: Duration) -> Option<Answer> {
        let mut answer = lock(&self.answer);
        if answer.is_none() {
            answer = self
                .ready
                .wait_timeout(answer, pause)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        answer.take()
    }

    /// Waits for the answer however long it takes (the loom models: loom has no clock).
    #[cfg(all(loom, test))]
    pub(super) fn wait(&self) -> Answer {
        let mut answer = lock(&self.answer);
        loop {
            if let Some(a) = answer.take() {
                return a;
            }
            answer = self.ready.wait(answer).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[derive(Default)]
struct Calls {
    pending: HashMap<u64, Arc<Slot>>,
    /// The stream is unusable: later calls fail at once.
    dead: bool,
    /// The last answer, or the moment calls became pending after none were.
    heard_at: Option<Instant>,
}

/// The calls in flight.
#[derive(Default)]
pub(super) struct Table {
    calls: Mutex<Calls>,
}

impl Table {
    /// A slot for call `id`, unless the stream is dead.
    pub(super) fn register(&self, id: u64) -> Result<SlotRef, BoundaryError> {
        let slot = Arc::new(Slot::default());
        let mut calls = lock(&self.calls);
        if calls.dead {
            return Err(BoundaryError::EnclaveExited);
        }
        if calls.pending.is_empty() {
            calls.heard_at = Some(Instant::now());
        }
        calls.pending.insert(id, slot.clone());
        Ok(slot)
    }

    /// Forgets call `id` (its call was never sent).
    pub(super) fn forget(&self, id: u64) {
        lock(&self.calls).pending.remove(&id);
    }

    /// Delivers the answer for call `id` to its caller, if it still waits (a withdrawn
    /// call's late answer is dropped).
    pub(super) fn deliver(&self, id: u64, answer: Answer) {
        let slot = {
            let mut calls = lock(&self.calls);
            calls.heard_at = Some(Instant::now());
            calls.pending.remove(&id)
        };
        if let Some(slot) = slot {
            slot.fill(answer);
        }
    }

    /// Marks the stream unusable and fails every waiting call with `error`.
    pub(super) fn fail_all(&self, error: BoundaryError) {
        let pending = {
            let mut calls = lock(&self.calls);
            calls.dead = true;
            std::mem::take(&mut calls.pending)
        };
        for (_, slot) in pending {
            slot.fill(Err(error.clone()));
        }
    }

    /// Withdraws call `id` at its deadline: its answer if it landed meanwhile, else
    /// [`BoundaryError::Timeout`] (and its late answer will be dropped).
    pub(super) fn withdraw(&self, id: u64, slot: &Slot) -> Answer {
        lock(&self.calls).pending.remove(&id);
        lock(&slot.answer).take().unwrap_or(Err(BoundaryError::Timeout))
    }

    /// Whether the stream is unusable.
    pub(super) fn is_dead(&self) -> bool {
        lock(&self.calls).dead
    }

    /// Calls in flight.
    pub(super) fn pending(&self) -> usize {
        lock(&self.calls).pending.len()
    }

    /// Whether calls are pending and nothing was heard for `silence` (a hung enclave).
    pub(super) fn silent_for(&self, silence: Duration) -> bool {
        let calls = lock(&self.calls);
        !calls.dead && !calls.pending.is_empty() && calls.heard_at.is_some_and(|t| t.elapsed() >= silence)
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::thread;
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

    /// Runs `f` under loom over every interleaving and returns how many were explored.
    fn explore(f: impl Fn() + Sync + Send + 'static) -> usize {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        RUNS.store(0, StdOrdering::SeqCst);
        loom::model(move || {
            RUNS.fetch_add(1, StdOrdering::SeqCst);
            f();
        });
        RUNS.load(StdOrdering::SeqCst)
    }

    fn answer(id: u64) -> Answer {
        Ok(Response::App {
            record: id.to_be_bytes().to_vec(),
        })
    }

    /// Two callers and the reader: each caller gets its own answer or the exit error,
    /// never another's; nobody deadlocks when the enclave exits mid-call.
    #[test]
    fn answers_reach_their_callers_and_exit_fails_the_rest() {
        let runs = explore(|| {
            let table = Arc::new(Table::default());
            let a = table.register(1).unwrap();
            let b = table.register(2).unwrap();
            let reader = {
                let table = table.clone();
                thread::spawn(move || {
                    table.deliver(2, answer(2));
                    table.deliver(1, answer(1));
                    table.fail_all(BoundaryError::EnclaveExited);
                })
            };
            let caller_a = thread::spawn(move || a.wait());
            let got_b = b.wait();
            let got_a = caller_a.join().unwrap();
            reader.join().unwrap();
            assert_eq!(got_a, answer(1));
            assert_eq!(got_b, answer(2));
            assert!(table.is_dead());
            assert_eq!(table.pending(), 0);
        });
        eprintln!("loom: {runs} interleavings");
        assert!(runs > 1);
    }

    /// A caller withdraws at its deadline while its answer and the enclave's exit race:
    /// it gets its answer or Timeout, the other caller its answer or the exit error, and a
    /// call registered after the exit fails at once.
    #[test]
    fn a_withdrawn_call_never_takes_another_calls_answer() {
        let runs = explore(|| {
            let table = Arc::new(Table::default());
            let a = table.register(1).unwrap();
            let b = table.register(2).unwrap();
            let reader = {
                let table = table.clone();
                thread::spawn(move || {
                    table.deliver(1, answer(1));
                    table.deliver(2, answer(2));
                })
            };
            let withdrawing = {
                let table = table.clone();
                thread::spawn(move || table.withdraw(1, &a))
            };
            table.fail_all(BoundaryError::EnclaveExited);
            let got_b = b.wait();
            let got_a = withdrawing.join().unwrap();
            reader.join().unwrap();
            assert!(
                got_a == answer(1) || matches!(got_a, Err(BoundaryError::Timeout | BoundaryError::EnclaveExited)),
                "{got_a:?}"
            );
            assert!(
                got_b == answer(2) || got_b == Err(BoundaryError::EnclaveExited),
                "{got_b:?}"
            );
            assert!(matches!(table.register(3), Err(BoundaryError::EnclaveExited)));
        });
        eprintln!("loom: {runs} interleavings");
        assert!(runs > 1);
    }
}
