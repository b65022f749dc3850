//! A sliding replay window over 64-bit sequence numbers (in the manner of RFC 6479): the
//! highest accepted number and a bitmap of the [`REPLAY_WINDOW`] numbers below it.
//! Records may arrive in any order inside the window; each is accepted at most once.

use crate::error::RecordError;

/// Width of the window in sequence numbers.
pub const REPLAY_WINDOW: u64 = 1024;
const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// Which sequence numbers have been accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    /// One past the highest accepted sequence number; 0 before any.
    top: u64,
    /// Bit `s % REPLAY_WINDOW` is set when `s` (within the window) was accepted.
    bits: [u64; WORDS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    /// An empty window.
    pub const fn new() -> Self {
        Self {
            top: 0,
            bits: [0; WORDS],
        }
    }

    fn slot(seq: u64) -> (usize, u64) {
        let i = seq % REPLAY_WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    /// Whether `seq` may be accepted. Does not change the window: call [`Self::mark`] only
    /// after the record authenticated.
    pub fn check(&self, seq: u64) -> Result<(), RecordError> {
        if seq >= self.top {
            return Ok(());
        }
        if self.top - seq > REPLAY_WINDOW {
            return Err(RecordError::TooOld);
        }
        let (w, b) = Self::slot(seq);
        if self.bits[w] & b != 0 {
            Err(RecordError::Replayed)
        } else {
            Ok(())
        }
    }

    /// Records `seq` as accepted, sliding the window forward if needed.
    pub fn mark(&mut self, seq: u64) {
        if seq >= self.top {
            if seq - self.top >= REPLAY_WINDOW {
                self.bits = [0; WORDS];
            } else {
                for s in self.top..seq {
                    let (w, b) = Self::slot(s);
                    self.bits[w] &= !b;
                }
            }
            self.top = seq + 1;
        }
        let (w, b) = Self::slot(seq);
        self.bits[w] |= b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_reordered_replayed_and_old() {
        let mut w = ReplayWindow::new();
        for s in [0, 1, 2, 5, 4, 3] {
            w.check(s).unwrap();
            w.mark(s);
        }
        for s in 0..=5 {
            assert_eq!(w.check(s), Err(RecordError::Replayed));
        }
        w.check(6).unwrap();
        w.mark(2000);
        // The window holds the highest number and the REPLAY_WINDOW - 1 below it.
        assert_eq!(w.check(2000 - REPLAY_WINDOW), Err(RecordError::TooOld));
        w.check(2000 - REPLAY_WINDOW + 1).unwrap();
        w.check(1999).unwrap();
        assert_eq!(w.check(2000), Err(RecordError::Replayed));
    }

    #[test]
    fn sliding_clears_reused_slots() {
        let mut w = ReplayWindow::new();
        w.mark(10);
        // 10 + 1024 shares 10's slot; after sliding to it, 10 is too old, not "replayed".
        w.mark(10 + REPLAY_WINDOW);
        assert_eq!(w.check(10), Err(RecordError::TooOld));
        // 11 is the oldest number still inside the window, and its slot was cleared.
        w.check(11).unwrap();
        w.mark(11);
        assert_eq!(w.check(11), Err(RecordError::Replayed));
    }
}
