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

/// Serves clients on `listener` until the process ends; the accept loop survives
/// descriptor exhaustion and never returns.
pub async fn serve(host: Arc<Host>, listener: tokio::net::TcpListener) -> std::convert::Infallible {
    accept::accept_loop(Arc::new(Shared::new(host)), listener).await
}

/// Runs [`serve`] on a runtime of its own (worker threads: one per core; at most
/// [`ENCLAVE_THREADS`] blocking threads) in a background thread.
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
            runtime.block_on(serve(host, listener));
        })?;
    Ok(())
}
