//! One info line per connection outcome (established, refused), at most
//! [`LINES_PER_SECOND`] a second: under a flood the log says how many lines it left out
//! instead of growing with the attacker's rate.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Outcome lines written per second at most.
pub(crate) const LINES_PER_SECOND: u32 = 20;

/// A per-second budget of log lines.
#[derive(Debug)]
pub(crate) struct OutcomeLog {
    state: Mutex<(Instant, u32, u64)>,
}

impl OutcomeLog {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// Whether a line may be written now; if so, how many were left out before it.
    pub(crate) fn admit(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(s.0) >= Duration::from_secs(1) {
            s.0 = now;
            s.1 = 0;
        }
        if s.1 >= LINES_PER_SECOND {
            s.2 += 1;
            return None;
        }
        s.1 += 1;
        Some(std::mem::take(&mut s.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_budget_and_counted() {
        let log = OutcomeLog::new();
        let t = Instant::now();
        let written = (0..1000).filter(|_| log.admit(t).is_some()).count();
        assert_eq!(written, LINES_PER_SECOND as usize);
        // The next second's first line says how many were left out.
        assert_eq!(
            log.admit(t + Duration::from_secs(1)),
            Some(1000 - u64::from(LINES_PER_SECOND))
        );
        assert_eq!(log.admit(t + Duration::from_secs(1)), Some(0));
    }
}
