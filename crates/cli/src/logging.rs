//! Logs on standard error, as text or JSON lines, with a level that `serve` can change
//! while running (SIGHUP). `RUST_LOG`, when set, takes precedence over every other
//! setting. Nothing secret is ever logged (keys and plaintext never reach the host; the
//! enclave program logs outcomes, not data).

use serde::{Deserialize, Serialize};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, fmt, reload};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, message, fields).
    Json,
}

/// Changes the level of the installed logger.
pub struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
}

/// The filter for `level` (an `EnvFilter` directive such as `info` or
/// `info,sc_host=debug`), unless `RUST_LOG` is set.
pub fn filter(level: &str) -> Result<EnvFilter, String> {
    if let Ok(env) = EnvFilter::try_from_default_env() {
        return Ok(env);
    }
    EnvFilter::try_new(level).map_err(|e| format!("invalid log level {level:?}: {e}"))
}

/// Installs the process's logger.
pub fn init(level: &str, format: LogFormat) -> Result<LogControl, String> {
    let (filter, handle) = reload::Layer::new(filter(level)?);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(std::io::stderr).with_target(false))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_current_span(false),
            )
            .try_init(),
    };
    installed.map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(LogControl { handle })
}

impl LogControl {
    /// Sets the level (`RUST_LOG` still takes precedence).
    pub fn set_level(&self, level: &str) -> Result<(), String> {
        let f = filter(level)?;
        self.handle
            .reload(f)
            .map_err(|e| format!("cannot change the log level: {e}"))
    }
}
