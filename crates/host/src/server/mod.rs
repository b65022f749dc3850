//! The network server (feature `tokio`): event-driven, so that thousands of idle or slow
//! sockets cost a task each, not a thread; every resource an unauthenticated peer can take
//! is capped by [`HostLimits`](crate::HostLimits) and every wait has a deadline.
//!
//! * [`serve`]: the server on a tokio listener (runs until the process ends).
//! * [`spawn_server`]: the same on its own runtime and thread, for synchronous callers.
//!
//! Enclave calls block (they wait on the boundary), so they run on tokio's blocking pool,
//! bounded by [`ENCLAVE_THREADS`].

mod accept;
mod connection;
mod frames;
mod outcome_log;
mod pump;

use crate::Host;
use connection::Shared;
use std::sync::Arc;

/// Threads at most in the blocking pool that makes enclave calls ([`spawn_server`]'s
/// runtime). Calls beyond it queue; the enclave serves them in turn.
pub const ENCLAVE_THREADS: usize = 64;

/// Serves clients on `listener` until the host drains ([`Host::start_draining`]): then
/// it stops accepting (the listener is closed) and returns, while the connections it
/// accepted go on draining (handshakes finish, sessions end once their records in
/// flight are answered). The accept loop survives descriptor exhaustion.
pub async fn serve(host: Arc<Host>, listener: tokio::net::TcpListener) {
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
    host.on_drain(Box::new(move || {
        let _ = drain_tx.send(true);
    }));
    accept::accept_loop(Arc::new(Shared::new(host, drain_rx)), listener).await
}

/// Runs [`serve`] on a runtime of its own (worker threads: one per core; at most
/// [`ENCLAVE_THREADS`] blocking threads) in a background thread, which keeps the runtime
/// (and so the draining connections) alive until the process ends.
pub fn spawn_server(host: Arc<Host>, listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sc-host")
        .max_blocking_threads(ENCLAVE_THREADS)
        // Idle blocking threads go soon after a burst, so a flood leaves none behind.
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    std::thread::Builder::new()
        .name("sc-host-accept".into())
        .spawn(move || {
            runtime.block_on(async move {
                serve(host, listener).await;
                // Draining connections run on this runtime: keep it.
                std::future::pending::<()>().await
            });
        })?;
    Ok(())
}
