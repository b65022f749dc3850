//! What the host counts, for operators (exported in the Prometheus/OpenMetrics text format
//! by the operations endpoint, or by the embedding program through [`HostMetrics::encode`]).
//!
//! Every name is prefixed `sc_`. Label values are fixed words (outcomes, caps, directions,
//! call kinds), never anything a client chose: a peer cannot grow the metric set.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

type Labels = [(&'static str, &'static str); 1];
type Labels2 = [(&'static str, &'static str); 2];

/// Which way relayed bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From clients, to the enclave.
    ToEnclave,
    /// From the enclave, to clients.
    ToClient,
}

/// A boundary call's kind (the `call` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A handshake or close message.
    Channel,
    /// An application (data) record.
    App,
    /// An evidence probe.
    Evidence,
}

impl CallKind {
    fn label(self) -> &'static str {
        match self {
            CallKind::Channel => "channel",
            CallKind::App => "app",
            CallKind::Evidence => "evidence",
        }
    }
}

/// One call kind's series, resolved once: updating them is atomic increments, with no
/// label lookup (application calls are on every record's path).
#[derive(Debug)]
struct CallSeries {
    ok: Counter,
    error: Counter,
    seconds: Histogram,
}

impl CallSeries {
    fn of(calls: &Family<Labels2, Counter>, seconds: &Family<Labels, Histogram>, kind: CallKind) -> Self {
        // One statement each: `get_or_create` returns a guard on the family, held to the
        // end of its statement, and a second insertion under it would deadlock.
        let call = ("call", kind.label());
        let ok = calls.get_or_create(&[call, ("result", "ok")]).clone();
        let error = calls.get_or_create(&[call, ("result", "error")]).clone();
        let seconds = seconds.get_or_create(&[call]).clone();
        Self { ok, error, seconds }
    }
}

/// The host's metrics. Cheap to update from any thread (atomics); shared by the relay,
/// the server and the supervisor.
#[derive(Debug)]
pub struct HostMetrics {
    registry: Registry,
    handshakes: Family<Labels, Counter>,
    handshake_seconds: Histogram,
    refusals: Family<Labels, Counter>,
    to_enclave: Counter,
    to_client: Counter,
    channel: CallSeries,
    app: CallSeries,
    evidence: CallSeries,
    enclave_restarts: Counter,
    connections: Gauge,
    sessions: Gauge,
    pending: Gauge,
    ready: Gauge,
    draining: Gauge,
}

/// Buckets from 100 µs to about 6.5 s, doubling: a simulated handshake takes about a
/// millisecond, one with hardware evidence tens of milliseconds, a call a few microseconds
/// to milliseconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Default for HostMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sc");
        let handshakes = Family::<Labels, Counter>::default();
        let handshake_seconds = latency_histogram();
        let refusals = Family::<Labels, Counter>::default();
        let relayed_bytes = Family::<Labels, Counter>::default();
        let boundary_calls = Family::<Labels2, Counter>::default();
        let boundary_seconds =
            Family::<Labels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let enclave_restarts = Counter::default();
        let [connections, sessions, pending, ready, draining]: [Gauge; 5] = Default::default();
        registry.register(
            "handshakes",
            "Handshakes by outcome: established, or the alert the client was refused with (busy, timeout, decode_error, ..., and the enclave's own refusals), or peer_closed / dropped",
            handshakes.clone(),
        );
        registry.register(
            "handshake_duration_seconds",
            "From a connection's arrival to its session being established",
            handshake_seconds.clone(),
        );
        registry.register(
            "refusals",
            "Connections or handshakes refused by a cap (connections, connections_per_source, pending, pending_per_source, sessions)",
            refusals.clone(),
        );
        registry.register(
            "relayed_bytes",
            "Bytes of channel messages relayed (direction: to_enclave, to_client)",
            relayed_bytes.clone(),
        );
        registry.register(
            "boundary_calls",
            "Calls into the enclave by kind (channel, app, evidence) and result (ok, error)",
            boundary_calls.clone(),
        );
        registry.register(
            "boundary_call_duration_seconds",
            "Time from a call into the enclave to its answer, by kind",
            boundary_seconds.clone(),
        );
        registry.register(
            "enclave_restarts",
            "Enclave processes restarted after an exit",
            enclave_restarts.clone(),
        );
        registry.register("connections", "Client connections open", connections.clone());
        registry.register("sessions", "Established sessions", sessions.clone());
        registry.register("pending_handshakes", "Handshakes in progress", pending.clone());
        registry.register(
            "ready",
            "1 when the enclave is attested and answering and the host is not draining",
            ready.clone(),
        );
        registry.register("draining", "1 while the host drains for shutdown", draining.clone());
        let series = |kind| CallSeries::of(&boundary_calls, &boundary_seconds, kind);
        let to_enclave = relayed_bytes.get_or_create(&[("direction", "to_enclave")]).clone();
        let to_client = relayed_bytes.get_or_create(&[("direction", "to_client")]).clone();
        Self {
            registry,
            handshakes,
            handshake_seconds,
            refusals,
            to_enclave,
            to_client,
            channel: series(CallKind::Channel),
            app: series(CallKind::App),
            evidence: series(CallKind::Evidence),
            enclave_restarts,
            connections,
            sessions,
            pending,
            ready,
            draining,
        }
    }
}

impl HostMetrics {
    /// A handshake ended: `outcome` is `established`, an alert name or `peer_closed` /
    /// `dropped`; `took` counts for established ones.
    pub fn handshake(&self, outcome: &'static str, took: Duration) {
        self.handshakes.get_or_create(&[("outcome", outcome)]).inc();
        if outcome == "established" {
            self.handshake_seconds.observe(took.as_secs_f64());
        }
    }

    /// A cap refused a connection or a handshake.
    pub fn refusal(&self, cap: &'static str) {
        self.refusals.get_or_create(&[("cap", cap)]).inc();
    }

    /// `n` bytes relayed `direction`.
    pub fn relayed(&self, direction: Direction, n: usize) {
        match direction {
            Direction::ToEnclave => &self.to_enclave,
            Direction::ToClient => &self.to_client,
        }
        .inc_by(n as u64);
    }

    /// A call into the enclave answered (`ok`) or failed, after `took`.
    pub fn boundary_call(&self, kind: CallKind, ok: bool, took: Duration) {
        let series = match kind {
            CallKind::Channel => &self.channel,
            CallKind::App => &self.app,
            CallKind::Evidence => &self.evidence,
        };
        if ok { &series.ok } else { &series.error }.inc();
        series.seconds.observe(took.as_secs_f64());
    }

    /// The enclave process was restarted.
    pub fn enclave_restarted(&self) {
        self.enclave_restarts.inc();
    }

    /// The state gauges, as of now (set at each scrape).
    pub fn set_state(&self, connections: usize, sessions: usize, pending: usize, ready: bool, draining: bool) {
        self.connections.set(connections as i64);
        self.sessions.set(sessions as i64);
        self.pending.set(pending as i64);
        self.ready.set(i64::from(ready));
        self.draining.set(i64::from(draining));
    }

    /// Every metric in the OpenMetrics text format (which Prometheus scrapes natively).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_appear_under_their_names_and_labels() {
        let m = HostMetrics::default();
        m.handshake("established", Duration::from_millis(2));
        m.handshake("busy", Duration::ZERO);
        m.refusal("pending_per_source");
        m.relayed(Direction::ToEnclave, 100);
        m.relayed(Direction::ToEnclave, 50);
        m.boundary_call(CallKind::App, true, Duration::from_micros(30));
        m.enclave_restarted();
        m.set_state(1, 3, 2, true, false);
        let text = m.encode();
        for line in [
            "sc_handshakes_total{outcome=\"established\"} 1",
            "sc_handshakes_total{outcome=\"busy\"} 1",
            "sc_handshake_duration_seconds_count 1",
            "sc_refusals_total{cap=\"pending_per_source\"} 1",
            "sc_relayed_bytes_total{direction=\"to_enclave\"} 150",
            "sc_boundary_calls_total{call=\"app\",result=\"ok\"} 1",
            "sc_boundary_call_duration_seconds_count{call=\"app\"} 1",
            "sc_enclave_restarts_total 1",
            "sc_connections 1",
            "sc_sessions 3",
            "sc_pending_handshakes 2",
            "sc_ready 1",
            "sc_draining 0",
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
