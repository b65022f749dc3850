//! One client connection on the event-driven server: the reader loop (deadlines, admission,
//! pipelining) and, once data records flow, a writer task that sends their replies in
//! order.

use super::frames::{Budgets, Deadlines, ReadError, read_frame};
use super::pump::{Outgoing, Pump, Record};
use crate::{ConnId, EvictHook, Host, HostError, Routed, Stage};
use sc_protocol::codec::DecodeError;
use sc_protocol::msgs::{Alert, AlertCode, MessageType};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

/// Data records in flight to the enclave per connection.
const PIPELINE_DEPTH: usize = 32;
/// How long a closing connection waits for the peer to read a final alert and close its
/// side (so that the close is a FIN after the alert, not a reset that may discard it).
const LINGER: Duration = Duration::from_millis(250);

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) host: Arc<Host>,
    /// The host's byte budget (`HostLimits::message_budget`).
    pub(crate) budget: Arc<Semaphore>,
    /// The budget of connection-outcome log lines.
    pub(crate) outcomes: super::outcome_log::OutcomeLog,
    /// Becomes `true` when the host starts draining.
    pub(crate) drain: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(host: Arc<Host>, drain: watch::Receiver<bool>) -> Self {
        let budget = Arc::new(Semaphore::new(host.limits().message_budget.min(Semaphore::MAX_PERMITS)));
        Self {
            host,
            budget,
            outcomes: super::outcome_log::OutcomeLog::new(),
            drain,
        }
    }

    /// One connection's share of the budget: enough for a whole message, at most a
    /// sixteenth of the host's (so that a few pipelining peers cannot hold all of it).
    fn connection_window(&self) -> usize {
        let limits = self.host.limits();
        (limits.message_budget / 16).max(limits.max_message)
    }
}

/// Where replies go: straight to the socket during the handshake, then through the
/// writer task, fed by the connection's pump and by the enclave's pushes (connections that
/// never finish their handshake never start either).
enum Output {
    Direct(OwnedWriteHalf),
    Writer {
        pump: Pump,
        out: mpsc::Sender<Outgoing>,
        task: JoinHandle<Option<OwnedWriteHalf>>,
        /// Tells the writer to stop at once and hand the socket back (if it is not
        /// mid-write), so that a final alert can still go out.
        quit: Arc<Notify>,
    },
    Gone,
}

impl Output {
    /// Starts the writer (once the session is established, or at the first data record):
    /// from then on replies go through it, and so do the records the enclave pushes for
    /// the session, each credited back to the enclave once written.
    /// Returns the session whose pushes it routes, if it started now.
    fn start(&mut self, host: &Arc<Host>, conn: ConnId, write_timeout: Duration, stop: &Arc<Notify>) -> Option<u64> {
        if !matches!(self, Output::Direct(_)) {
            return None;
        }
        let Output::Direct(wr) = std::mem::replace(self, Output::Gone) else {
            return None;
        };
        let (out, replies) = mpsc::channel(PIPELINE_DEPTH + 1);
        // Unbounded in type, bounded by the push window the host grants.
        let (push_tx, pushes) = mpsc::unbounded_channel();
        let session = host.session(conn);
        if let Some(id) = session {
            host.route_pushes(
                id,
                Arc::new(move |record| {
                    let _ = push_tx.send(record);
                }),
            );
        }
        let credit = session.map(|id| (host.clone(), id));
        let quit = Arc::new(Notify::new());
        let task = tokio::spawn(writer(
            Inputs {
                replies,
                pushes,
                credit,
                push_timeout: host.limits().idle_timeout,
                quit: quit.clone(),
            },
            wr,
            write_timeout,
            stop.clone(),
        ));
        let pump = Pump::new(host.clone(), conn, out.clone());
        *self = Output::Writer { pump, out, task, quit };
        session
    }

    /// The pump (the writer started if it was not).
    fn pump(&mut self, host: &Arc<Host>, conn: ConnId, write_timeout: Duration, stop: &Arc<Notify>) -> Option<&Pump> {
        self.start(host, conn, write_timeout, stop);
        match self {
            Output::Writer { pump, .. } => Some(pump),
            _ => None,
        }
    }

    /// Sends a handshake reply (after every data reply owed).
    async fn send(&mut self, bytes: Vec<u8>, write_timeout: Duration) -> bool {
        match self {
            Output::Direct(wr) => write(wr, &bytes, write_timeout).await,
            Output::Writer { out, .. } => out.send(Outgoing::Ready(bytes)).await.is_ok(),
            Output::Gone => false,
        }
    }

    /// Sends what is owed (unless `abandon`), then returns the write half if still usable.
    async fn finish(self, abandon: bool) -> Option<OwnedWriteHalf> {
        match self {
            Output::Direct(wr) => Some(wr),
            Output::Writer { pump, out, task, quit } => {
                drop((pump, out));
                if abandon {
                    quit.notify_one();
                }
                task.await.ok().flatten()
            }
            Output::Gone => None,
        }
    }
}

async fn write(wr: &mut OwnedWriteHalf, bytes: &[u8], write_timeout: Duration) -> bool {
    matches!(timeout(write_timeout, wr.write_all(bytes)).await, Ok(Ok(())))
}

/// Replies written together at most (a batch of small acknowledgements is one write).
const WRITE_BATCH: usize = 256 * 1024;

/// What the writer takes from.
struct Inputs {
    /// Replies, in order.
    replies: mpsc::Receiver<Outgoing>,
    /// The enclave's pushes for the session.
    pushes: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Where to credit pushes once written (the host and the session).
    credit: Option<(Arc<Host>, u64)>,
    /// How long writing one pushed record may wait for the client to read: the idle
    /// timeout, not the frame deadline, since a tunnel's client may pause reading for a
    /// while and what it leaves unread is bounded by the push window.
    push_timeout: Duration,
    /// Stop now ([`Output::finish`] abandoning).
    quit: Arc<Notify>,
}

/// [`write`], unless `quit` comes first (`None`: the socket is mid-frame, unusable).
async fn write_unless_quit(
    wr: &mut OwnedWriteHalf,
    bytes: &[u8],
    write_timeout: Duration,
    quit: &Notify,
) -> Option<bool> {
    tokio::select! {
        w = write(wr, bytes, write_timeout) => Some(w),
        _ = quit.notified() => None,
    }
}

/// Sends replies in order, those already waiting in one write, and the records the
/// enclave pushes (each credited back once written); on any failure stops the connection.
/// Ends when every sender of replies (the connection and its pump) is gone, or at once
/// when told to quit (handing the socket back if no write was cut).
async fn writer(
    inputs: Inputs,
    mut wr: OwnedWriteHalf,
    write_timeout: Duration,
    stop: Arc<Notify>,
) -> Option<OwnedWriteHalf> {
    let Inputs {
        mut replies,
        mut pushes,
        credit,
        push_timeout,
        quit,
    } = inputs;
    // Replies ready together, and the budget they hold (released once written).
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut releases = Vec::new();
    loop {
        let first = tokio::select! {
            biased;
            _ = quit.notified() => return Some(wr),
            r = replies.recv() => match r {
                Some(first) => first,
                None => break,
            },
            Some(record) = pushes.recv() => {
                if write_unless_quit(&mut wr, &record, push_timeout, &quit).await != Some(true) {
                    stop.notify_one();
                    return None;
                }
                if let Some((host, id)) = &credit {
                    host.credit(*id, record.len());
                }
                continue;
            }
        };
        let mut next = Some(first);
        let mut failed = None;
        let mut len = 0;
        while let Some(item) = next.take() {
            match item {
                Outgoing::Ready(bytes) => {
                    len += bytes.len();
                    parts.push(bytes);
                }
                Outgoing::Reply {
                    result: Ok(bytes),
                    release,
                } => {
                    len += bytes.len();
                    parts.push(bytes);
                    releases.push(release);
                }
                Outgoing::Reply { result: Err(e), .. } => {
                    failed = Some(e);
                    break;
                }
            }
            if len < WRITE_BATCH {
                next = replies.try_recv().ok();
            }
        }
        // What was answered before a failure is still sent; a lone reply without a copy.
        let sent = match parts.as_slice() {
            [] => true,
            [one] => write_unless_quit(&mut wr, one, write_timeout, &quit).await == Some(true),
            many => write_unless_quit(&mut wr, &many.concat(), write_timeout, &quit).await == Some(true),
        };
        parts.clear();
        releases.clear();
        if let Some(e) = &failed {
            tracing::info!(error = %e, "enclave refused a record; closing connection");
        }
        if !sent || failed.is_some() {
            stop.notify_one();
            return None;
        }
    }
    Some(wr)
}

/// How a connection ended.
enum End {
    /// The peer closed (or sent Close).
    PeerClosed,
    /// The host dropped it (evicted, enclave restarted) or its writer failed.
    Dropped,
    /// Refused with this alert (deadlines, caps, bad frames).
    Alert(AlertCode),
    /// An established connection went quiet past the idle timeout.
    Idle,
    /// The host drained it: its session ended (the enclave's Close sent).
    Drained,
}

/// The alert that tells a client why the host refused it.
fn alert_for(e: &HostError) -> AlertCode {
    match e {
        e if e.is_busy() => AlertCode::Busy,
        HostError::UnknownConnection => AlertCode::Busy,
        HostError::Malformed(DecodeError::UnsupportedWireVersion(_)) => AlertCode::ProtocolVersion,
        HostError::Malformed(_) | HostError::TooLarge { .. } => AlertCode::DecodeError,
        HostError::OutOfPlace(_) => AlertCode::UnexpectedMessage,
        HostError::UnknownSession => AlertCode::UnknownSession,
        HostError::Boundary(_) => AlertCode::EnclaveUnavailable,
        _ => AlertCode::HandshakeFailure,
    }
}

fn alert(code: AlertCode) -> Vec<u8> {
    Alert { session_id: 0, code }.to_frame()
}

/// Sends `last` (if any), closes our side, and gives the peer a moment to read it and
/// close its side.
async fn close(
    rd: &mut (impl AsyncRead + Unpin),
    wr: Option<OwnedWriteHalf>,
    last: Option<Vec<u8>>,
    write_timeout: Duration,
) {
    let Some(mut wr) = wr else { return };
    if let Some(bytes) = last {
        let _ = write(&mut wr, &bytes, write_timeout).await;
    }
    let _ = timeout(LINGER, wr.shutdown()).await;
    drop(wr);
    let mut sink = [0u8; 512];
    let _ = timeout(LINGER, async {
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match rd.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// Refuses a connection the host would not admit: a busy alert, then close.
async fn refuse(stream: TcpStream, code: AlertCode, write_timeout: Duration) {
    let (mut rd, wr) = stream.into_split();
    close(&mut rd, Some(wr), Some(alert(code)), write_timeout).await;
}

/// Returns once the host drains (never, if its drain signal is gone).
pub(crate) async fn drained(drain: &mut watch::Receiver<bool>) {
    if drain.wait_for(|d| *d).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Serves one accepted connection to its end.
pub(crate) async fn serve_connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let host = shared.host.clone();
    let limits = host.limits();
    let stop = Arc::new(Notify::new());
    let hook: EvictHook = {
        let stop = stop.clone();
        Arc::new(move || stop.notify_one())
    };
    let metrics = host.metrics().clone();
    let arrived = Instant::now();
    let conn = match host.accept(peer.ip(), hook) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "refusing connection");
            metrics.handshake(alert_for(&e).name(), Duration::ZERO);
            refuse(stream, alert_for(&e), limits.frame_timeout).await;
            return;
        }
    };
    let mut drain = shared.drain.clone();
    // Whether this handshake's outcome was counted (an enclave refusal is counted when
    // its alert goes out; the connection's end must not count it again).
    let mut counted = false;
    // The session whose pushes go to this connection's writer.
    let mut routed = None;
    let (mut rd, wr) = stream.into_split();
    let mut out = Output::Direct(wr);
    let budgets = Budgets {
        host: shared.budget.clone(),
        conn: Arc::new(Semaphore::new(shared.connection_window())),
    };
    let pipeline = Arc::new(Semaphore::new(PIPELINE_DEPTH));
    let handshake_deadline = Instant::now() + limits.handshake_timeout;
    let mut last_active = Instant::now();
    let mut stage = Stage::Handshake;
    let end = loop {
        match host.stage(conn) {
            Some(Stage::Established) if stage == Stage::Handshake => {
                stage = Stage::Established;
                routed = out.start(&host, conn, limits.frame_timeout, &stop).or(routed);
                metrics.handshake("established", arrived.elapsed());
                counted = true;
                if let Some(left_out) = shared.outcomes.admit(std::time::Instant::now()) {
                    tracing::info!(%peer, left_out, "session established");
                }
            }
            Some(s) => stage = s,
            None => break End::Dropped,
        }
        let deadlines = match stage {
            Stage::Handshake => Deadlines {
                first_byte: handshake_deadline,
                hard: Some(handshake_deadline),
                frame_timeout: limits.frame_timeout,
            },
            Stage::Established => Deadlines {
                first_byte: last_active + limits.idle_timeout,
                hard: None,
                frame_timeout: limits.frame_timeout,
            },
        };
        let read = tokio::select! {
            biased;
            _ = stop.notified() => break End::Dropped,
            // Handshakes in progress finish first; a session ends once the records it has
            // in flight are answered, with the enclave's Close after the last reply.
            _ = drained(&mut drain), if stage == Stage::Established => {
                drop(pipeline.acquire_many(PIPELINE_DEPTH as u32).await);
                let h = host.clone();
                if let Ok(Ok(Some(close))) = tokio::task::spawn_blocking(move || h.end_session(conn)).await {
                    out.send(close, limits.frame_timeout).await;
                }
                break End::Drained;
            }
            r = read_frame(&mut rd, &host, conn, &budgets, deadlines) => r,
        };
        let incoming = match read {
            Ok(Some(i)) => i,
            Ok(None) => break End::PeerClosed,
            Err(ReadError::Io(e)) => {
                tracing::debug!(%peer, error = %e, "connection failed");
                break End::PeerClosed;
            }
            Err(ReadError::Quiet) if stage == Stage::Established => break End::Idle,
            Err(ReadError::Quiet | ReadError::Slow) => break End::Alert(AlertCode::Timeout),
            Err(ReadError::Refused(e)) => {
                tracing::debug!(%peer, error = %e, "refusing message; closing connection");
                break End::Alert(alert_for(&e));
            }
        };
        last_active = Instant::now();
        if matches!(
            incoming.msg_type,
            MessageType::ApplicationData | MessageType::EndOfStream
        ) {
            let slot = tokio::select! {
                biased;
                _ = stop.notified() => break End::Dropped,
                s = pipeline.clone().acquire_owned() => match s { Ok(s) => s, Err(_) => break End::Dropped },
            };
            let Some(pump) = out.pump(&host, conn, limits.frame_timeout, &stop) else {
                break End::Dropped;
            };
            pump.push(Record {
                message: incoming.message,
                held: incoming.held,
                slot,
            });
            continue;
        }
        // Handshake and close messages take effect after every earlier record.
        drop(pipeline.acquire_many(PIPELINE_DEPTH as u32).await);
        if incoming.msg_type == MessageType::Close {
            // One way to the enclave: no need to wait on its threads.
            match host.submit_owned(conn, incoming.message) {
                Ok(_) => break End::PeerClosed,
                Err(e) => break End::Alert(alert_for(&e)),
            }
        }
        if incoming.msg_type == MessageType::ClientHello {
            // Admission here, on this task, so that hellos over the caps never queue for
            // the enclave's threads.
            if let Err(e) = host.reserve_hello(conn) {
                tracing::debug!(%peer, error = %e, "refusing ClientHello");
                break End::Alert(alert_for(&e));
            }
        }
        let h = host.clone();
        // Why the blocking pool and not `block_in_place` on this worker: under a flood of
        // hellos every worker ended up inside the enclave's queue and the accept loop and
        // timers starved (measured: p50 handshake 500 ms instead of 2 ms).
        let routed = tokio::task::spawn_blocking(move || h.submit_owned(conn, incoming.message)).await;
        match routed {
            Ok(Ok(Routed::Reply(reply))) => {
                if let Some(code) = AlertCode::of_frame(&reply) {
                    // The enclave refused the handshake (its alert goes to the client).
                    metrics.handshake(code.name(), Duration::ZERO);
                    counted = true;
                }
                if !out.send(reply, limits.frame_timeout).await {
                    break End::Dropped;
                }
            }
            Ok(Ok(Routed::Nothing)) => {}
            Ok(Ok(Routed::Closed | Routed::ClosedWithReply(_))) => break End::PeerClosed,
            Ok(Ok(Routed::Pending(_))) | Err(_) => break End::Dropped,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "refusing message; closing connection");
                break End::Alert(alert_for(&e));
            }
        }
    };
    if stage == Stage::Handshake {
        if let End::Alert(code) = &end {
            if let Some(left_out) = shared.outcomes.admit(std::time::Instant::now()) {
                tracing::info!(%peer, alert = ?code, left_out, "handshake refused");
            }
        }
        if !counted {
            let outcome = match &end {
                End::Alert(code) => code.name(),
                End::PeerClosed => "peer_closed",
                _ => "dropped",
            };
            metrics.handshake(outcome, Duration::ZERO);
        }
    }
    let (abandon, last) = match end {
        End::PeerClosed | End::Drained => (false, None),
        End::Idle => (true, None),
        // A handshake dropped to make room is told the server is busy.
        End::Dropped => (true, (stage == Stage::Handshake).then(|| alert(AlertCode::Busy))),
        End::Alert(code) => (true, Some(alert(code))),
    };
    let wr = out.finish(abandon).await;
    close(&mut rd, wr, last, limits.frame_timeout).await;
    drop(rd);
    host.disconnect(conn);
    if let Some(id) = routed {
        host.unroute_pushes(id);
    }
}
