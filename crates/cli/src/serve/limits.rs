//! The host's limits and deadlines for `serve`: defaults, then the configuration file's
//! `[limits]` table, then flags.

use clap::Args;
use sc_host::HostLimits;
use serde::Deserialize;
use std::time::Duration;

/// Limits and deadlines, each optional: as flags of `serve`, and as the `[limits]` table of
/// the `--config` file (same names, with underscores). Values not given keep the defaults.
#[derive(Args, Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct LimitArgs {
    /// Open client connections at most.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Open client connections from one source address (IPv6: one /64) at most.
    #[arg(long)]
    pub max_connections_per_source: Option<usize>,
    /// Handshakes in progress at most (the oldest is evicted when full).
    #[arg(long)]
    pub max_pending: Option<usize>,
    /// Handshakes in progress from one source address at most.
    #[arg(long)]
    pub max_pending_per_source: Option<usize>,
    /// Established sessions at most.
    #[arg(long)]
    pub max_sessions: Option<usize>,
    /// Largest client message in bytes (whole frame).
    #[arg(long)]
    pub max_message: Option<usize>,
    /// Largest handshake message in bytes.
    #[arg(long)]
    pub max_client_hello: Option<usize>,
    /// Bytes of client messages the host holds at once, over all connections.
    #[arg(long)]
    pub message_budget: Option<usize>,
    /// Deadline for the whole handshake, from connection to ClientFinished (e.g. 10s).
    #[arg(long, value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde_opt")]
    pub handshake_timeout: Option<Duration>,
    /// Deadline for one frame, from its first byte to its last (e.g. 5s).
    #[arg(long, value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde_opt")]
    pub frame_timeout: Option<Duration>,
    /// Established connections idle this long are closed (e.g. 5m).
    #[arg(long, value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde_opt")]
    pub idle_timeout: Option<Duration>,
}

/// Durations in the file are strings such as "10s" or "5m".
mod humantime_serde_opt {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

macro_rules! overlay {
    ($limits:ident, $src:expr, $($field:ident),*) => {
        $( if let Some(v) = $src.$field { $limits.$field = v; } )*
    };
}

impl LimitArgs {
    /// The limits in force: defaults, then `file`, then these (flags). Whether the
    /// connection cap was set explicitly is returned too (otherwise it may be lowered to
    /// fit the descriptor limit).
    pub fn resolve_over(&self, file: &LimitArgs) -> (HostLimits, bool) {
        let mut limits = HostLimits::default();
        let explicit_cap = file.max_connections.is_some() || self.max_connections.is_some();
        for src in [file, self] {
            overlay!(
                limits,
                src,
                max_connections,
                max_connections_per_source,
                max_pending,
                max_pending_per_source,
                max_sessions,
                max_message,
                max_client_hello,
                message_budget,
                handshake_timeout,
                frame_timeout,
                idle_timeout
            );
        }
        (limits, explicit_cap)
    }
}

/// The limits in force, as `--check-config` prints them (durations as "10s").
#[derive(serde::Serialize, Debug)]
pub struct LimitsView {
    max_connections: usize,
    max_connections_per_source: usize,
    max_pending: usize,
    max_pending_per_source: usize,
    max_sessions: usize,
    max_message: usize,
    max_client_hello: usize,
    message_budget: usize,
    handshake_timeout: String,
    frame_timeout: String,
    idle_timeout: String,
}

impl From<&HostLimits> for LimitsView {
    fn from(l: &HostLimits) -> Self {
        let d = |d: Duration| humantime::format_duration(d).to_string();
        Self {
            max_connections: l.max_connections,
            max_connections_per_source: l.max_connections_per_source,
            max_pending: l.max_pending,
            max_pending_per_source: l.max_pending_per_source,
            max_sessions: l.max_sessions,
            max_message: l.max_message,
            max_client_hello: l.max_client_hello,
            message_budget: l.message_budget,
            handshake_timeout: d(l.handshake_timeout),
            frame_timeout: d(l.frame_timeout),
            idle_timeout: d(l.idle_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags_over_defaults() {
        let file: LimitArgs = toml::from_str(
            "max_pending = 7\nmax_connections = 10\nhandshake_timeout = \"3s\"\nidle_timeout = \"2m\"\n",
        )
        .unwrap();
        let flags = LimitArgs {
            max_pending: Some(9),
            ..LimitArgs::default()
        };
        let (limits, explicit) = flags.resolve_over(&file);
        assert_eq!(limits.max_pending, 9, "flags win over the file");
        assert_eq!(limits.max_connections, 10);
        assert_eq!(limits.handshake_timeout, Duration::from_secs(3));
        assert_eq!(limits.idle_timeout, Duration::from_secs(120));
        assert_eq!(limits.max_sessions, HostLimits::default().max_sessions);
        assert!(explicit);
        let view = toml::to_string(&LimitsView::from(&limits)).unwrap();
        assert!(view.contains("handshake_timeout = \"3s\""), "{view}");
    }
}
