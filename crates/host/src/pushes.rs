//! Records the enclave pushes on its own (stream sessions, `sc_boundary::Push`) go to the
//! connection of their session. A server registers a route when a connection's session
//! is established and the host forgets it when the connection goes; a push for a session
//! with no route (closed meanwhile) is dropped.
//!
//! The routes run on the boundary's reader thread, so a route only queues the record for
//! its connection's writer. What bounds that queue is the credit the host grants: the
//! enclave pushes at most [`PUSH_WINDOW`] bytes ahead of what the writer has written to
//! the client, and the writer grants more after each write. The host counts, too: an
//! enclave that pushes past the window (a bug in the enclave program) has the session's
//! pushes stopped rather than the host's memory grow.

use sc_boundary::{Push, PushSink};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes of pushed records the enclave may send for one stream session before the host
/// grants more: what the host holds at most per stream session (the boundary's contract).
pub use sc_boundary::PUSH_WINDOW;

/// Where one session's pushed records go (its connection's writer queue).
pub type PushRoute = Arc<dyn Fn(Vec<u8>) + Send + Sync>;

/// A route and the bytes pushed on it and not yet credited back.
#[derive(Clone)]
struct Entry {
    route: PushRoute,
    outstanding: Arc<AtomicUsize>,
}

/// The routes, by session id.
#[derive(Clone, Default)]
pub(crate) struct PushRoutes(Arc<Mutex<HashMap<u64, Entry>>>);

impl std::fmt::Debug for PushRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PushRoutes({} sessions)", self.lock().len())
    }
}

impl PushRoutes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add(&self, session_id: u64, route: PushRoute) {
        let outstanding = Arc::new(AtomicUsize::new(0));
        self.lock().insert(session_id, Entry { route, outstanding });
    }

    /// `bytes` of the session's pushes were written to its client.
    pub(crate) fn written(&self, session_id: u64, bytes: usize) {
        if let Some(e) = self.lock().get(&session_id) {
            let _ = e
                .outstanding
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |o| Some(o.saturating_sub(bytes)));
        }
    }

    pub(crate) fn remove(&self, session_id: u64) {
        self.lock().remove(&session_id);
    }

    /// The sink to give the enclave's transport.
    pub(crate) fn sink(&self, metrics: Arc<crate::metrics::HostMetrics>) -> PushSink {
        let routes = self.clone();
        Arc::new(move |push: Push| {
            let entry = routes.lock().get(&push.session_id).cloned();
            let Some(entry) = entry else {
                tracing::debug!(
                    session = push.session_id,
                    "a push for a session with no connection; dropped"
                );
                return;
            };
            let len = push.record.len();
            if entry.outstanding.fetch_add(len, Ordering::AcqRel) + len > PUSH_WINDOW as usize {
                tracing::warn!(
                    session = push.session_id,
                    "the enclave pushed past the window it was granted; pushes for this session stopped"
                );
                routes.remove(push.session_id);
                return;
            }
            metrics.relayed(crate::metrics::Direction::ToClient, len);
            (entry.route)(push.record);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_past_the_window_stops_the_sessions_pushes() {
        let routes = PushRoutes::default();
        let got: Arc<Mutex<usize>> = Arc::default();
        let into = got.clone();
        routes.add(1, Arc::new(move |r: Vec<u8>| *into.lock().unwrap() += r.len()));
        let sink = routes.sink(Arc::default());
        let push = |n: usize| {
            sink(Push {
                session_id: 1,
                record: vec![0; n],
            })
        };
        push(PUSH_WINDOW as usize - 10);
        routes.written(1, 100);
        // 100 bytes were written and credited: 110 fit in all; 90 now leaves 20.
        push(90);
        assert_eq!(*got.lock().unwrap(), PUSH_WINDOW as usize + 80);
        push(21);
        assert_eq!(
            *got.lock().unwrap(),
            PUSH_WINDOW as usize + 80,
            "delivered past the window"
        );
        // The route is gone: later pushes go nowhere.
        routes.written(1, PUSH_WINDOW as usize);
        push(1);
        assert_eq!(*got.lock().unwrap(), PUSH_WINDOW as usize + 80);
    }
}
