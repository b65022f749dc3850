//! Records the enclave pushes on its own (stream sessions, `sc_boundary::Push`) go to the
//! connection of their session. The relay expects a session's pushes from the moment it
//! hands the enclave the session's ClientFinished: an enclave may push as soon as the
//! session is established (a backend that speaks first: SSH, SMTP, database greetings),
//! before the host has read the answer that says so, and those records are held until the
//! connection's server registers its route, then delivered first, in order. The host
//! forgets the session when the connection goes; a push for a session it does not expect
//! (closed meanwhile) is dropped.
//!
//! The routes run on the boundary's reader thread, so a route only queues the record for
//! its connection's writer. What bounds that queue (and what is held) is the credit the
//! host grants: the enclave pushes at most [`PUSH_WINDOW`] bytes ahead of what the writer
//! has written to the client, and the writer grants more after each write. The host
//! counts, too: an enclave that pushes past the window (a bug in the enclave program) has
//! the session's pushes stopped rather than the host's memory grow.

use sc_boundary::{Push, PushSink};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bytes of pushed records the enclave may send for one stream session before the host
/// grants more: what the host holds at most per stream session (the boundary's contract).
pub use sc_boundary::PUSH_WINDOW;

/// Where one session's pushed records go (its connection's writer queue).
pub type PushRoute = Arc<dyn Fn(Vec<u8>) + Send + Sync>;

/// One expected session: its route once registered (records held until then) and the
/// bytes pushed and not yet credited back.
#[derive(Default)]
struct Entry {
    route: Option<PushRoute>,
    held: Vec<Vec<u8>>,
    outstanding: usize,
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

    /// Pushes for `session_id` may come from now on (its ClientFinished goes to the
    /// enclave): hold them until [`PushRoutes::add`].
    pub(crate) fn expect(&self, session_id: u64) {
        self.lock().entry(session_id).or_default();
    }

    /// Routes the session's pushes, the held ones first.
    pub(crate) fn add(&self, session_id: u64, route: PushRoute) {
        let mut routes = self.lock();
        let entry = routes.entry(session_id).or_default();
        for record in entry.held.drain(..) {
            route(record);
        }
        entry.route = Some(route);
    }

    /// `bytes` of the session's pushes were written to its client.
    pub(crate) fn written(&self, session_id: u64, bytes: usize) {
        if let Some(e) = self.lock().get_mut(&session_id) {
            e.outstanding = e.outstanding.saturating_sub(bytes);
        }
    }

    pub(crate) fn remove(&self, session_id: u64) {
        self.lock().remove(&session_id);
    }

    /// Whether pushes for `session_id` are expected (held or routed).
    #[cfg(test)]
    pub(crate) fn expects(&self, session_id: u64) -> bool {
        self.lock().contains_key(&session_id)
    }

    /// The sink to give the enclave's transport.
    pub(crate) fn sink(&self, metrics: Arc<crate::metrics::HostMetrics>) -> PushSink {
        let routes = self.clone();
        Arc::new(move |push: Push| {
            let mut table = routes.lock();
            let Some(entry) = table.get_mut(&push.session_id) else {
                tracing::debug!(
                    session = push.session_id,
                    "a push for a session with no connection; dropped"
                );
                return;
            };
            let len = push.record.len();
            entry.outstanding += len;
            if entry.outstanding > PUSH_WINDOW as usize {
                tracing::warn!(
                    session = push.session_id,
                    "the enclave pushed past the window it was granted; pushes for this session stopped"
                );
                table.remove(&push.session_id);
                return;
            }
            metrics.relayed(crate::metrics::Direction::ToClient, len);
            // A route only queues (it never blocks), so it may run under the lock, which
            // keeps a session's records in the order the enclave pushed them.
            match &entry.route {
                Some(route) => route(push.record),
                None => entry.held.push(push.record),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_before_the_route_are_held_and_delivered_first_in_order() {
        let routes = PushRoutes::default();
        let sink = routes.sink(Arc::default());
        let push = |session_id: u64, byte: u8| {
            sink(Push {
                session_id,
                record: vec![byte],
            })
        };
        routes.expect(7);
        push(7, 1);
        push(7, 2);
        push(8, 9); // not expected: dropped
        let got: Arc<Mutex<Vec<u8>>> = Arc::default();
        let into = got.clone();
        routes.add(7, Arc::new(move |r: Vec<u8>| into.lock().unwrap().extend(r)));
        push(7, 3);
        assert_eq!(*got.lock().unwrap(), [1, 2, 3]);
        routes.add(8, Arc::new(|_| panic!("a push for a session nobody expected was kept")));
    }

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
