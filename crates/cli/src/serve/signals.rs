//! What `serve` does on signals once it runs.
//!
//! * SIGHUP: reads the configuration again (file and flags) and applies what can change
//!   without a restart: the limits and deadlines (new admissions and frames follow them;
//!   the host's byte budget is sized at start and stays) and the log level. A
//!   configuration that no longer parses is reported and the old one kept.
//! * SIGTERM and SIGINT (alike): drain. The host reports not ready and stops accepting;
//!   handshakes in progress finish; each session ends once its requests in flight are
//!   answered, with the enclave's Close to the client. When every connection is gone, or
//!   at the drain deadline, the enclave is stopped and `serve` returns (exit 0). A second
//!   SIGTERM or SIGINT cuts the drain short.
//!
//! Between signals, a host that is not ready (its enclave did not answer the last
//! probe) probes again every few seconds.

use super::Server;
use super::config::ServeArgs;
use crate::logging::LogControl;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::time::{Duration, Instant};

/// How often the loop looks for signals and drain progress.
const TICK: Duration = Duration::from_millis(50);
/// How often a host that is not ready probes its enclave again.
const READY_RETRY: Duration = Duration::from_secs(3);

/// The signals `serve` handles, caught from creation on.
pub struct Signals(signal_hook::iterator::Signals);

impl Signals {
    /// Catches SIGTERM, SIGINT and SIGHUP from now on.
    pub fn catch() -> std::io::Result<Self> {
        signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]).map(Self)
    }

    /// Runs until a drain completes.
    pub fn run(
        mut self,
        server: Server,
        args: &ServeArgs,
        level_override: Option<&str>,
        logs: &LogControl,
        drain: Duration,
    ) {
        let mut last_probe = Instant::now();
        loop {
            for signal in self.0.pending() {
                match signal {
                    SIGHUP => reload(&server, args, level_override, logs),
                    _ => {
                        self.drain(server, drain);
                        return;
                    }
                }
            }
            if !server.host.is_ready() && last_probe.elapsed() >= READY_RETRY {
                last_probe = Instant::now();
                if server.host.check_ready() {
                    tracing::info!("enclave answering: ready");
                }
            }
            std::thread::sleep(TICK);
        }
    }

    fn drain(&mut self, server: Server, deadline: Duration) {
        let started = Instant::now();
        let (sessions, pending) = server.host.counts();
        tracing::info!(
            connections = server.host.connections(),
            sessions,
            pending,
            deadline = ?deadline,
            "draining: not ready, not accepting; finishing handshakes and requests in flight"
        );
        server.host.start_draining();
        let cut = loop {
            if server.host.connections() == 0 {
                break None;
            }
            if started.elapsed() >= deadline {
                break Some("the drain deadline passed");
            }
            if self.0.pending().any(|s| s != SIGHUP) {
                break Some("a second signal");
            }
            std::thread::sleep(TICK);
        };
        match cut {
            None => tracing::info!(took = ?started.elapsed(), "drained"),
            Some(why) => tracing::warn!(left = server.host.connections(), "{why}: closing the connections left"),
        }
        server.enclave.stop();
        tracing::info!("stopped");
    }
}

/// SIGHUP: the configuration again; limits and log level applied.
fn reload(server: &Server, args: &ServeArgs, level_override: Option<&str>, logs: &LogControl) {
    let config = match args.resolve(level_override) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "reload: configuration refused; keeping the one in force");
            return;
        }
    };
    let before = server.host.limits();
    let mut limits = config.limits;
    // The byte budget was sized at start.
    limits.message_budget = before.message_budget;
    server.host.set_limits(limits);
    let level = logs.set_level(&config.log_level);
    if let Err(e) = &level {
        tracing::error!(error = %e, "reload: log level refused");
    }
    tracing::info!(
        limits_changed = limits != before,
        log_level = %config.log_level,
        "configuration reloaded"
    );
}
