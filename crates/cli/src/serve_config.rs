//! The host's limits and deadlines for `serve`: defaults, then a TOML file's `[limits]`
//! table, then flags. Unknown keys are refused with the line named (a misspelt limit
//! silently left at its default is how servers fall over).

use clap::Args;
use sc_host::HostLimits;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// Limits and deadlines, each optional: as flags of `serve`, and as the `[limits]` table of
/// the `--config` file (same names, with underscores). Values not given keep the defaults.
#[derive(Args, Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct LimitArgs {
    /// TOML file with a `[limits]` table (keys as the flags below, with underscores).
    #[arg(long)]
    #[serde(skip)]
    pub config: Option<std::path::PathBuf>,
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

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    limits: LimitArgs,
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
    /// The limits in force: defaults, then the file, then flags. Whether the connection
    /// cap was set explicitly is returned too (otherwise it may be lowered to fit the
    /// descriptor limit).
    pub fn resolve(&self) -> Result<(HostLimits, bool), Box<dyn std::error::Error>> {
        let mut limits = HostLimits::default();
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => LimitArgs::default(),
        };
        let explicit_cap = file.max_connections.is_some() || self.max_connections.is_some();
        for src in [&file, self] {
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
        Ok((limits, explicit_cap))
    }
}

fn read_file(path: &Path) -> Result<LimitArgs, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: File = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file.limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn file_then_flags_over_defaults() {
        let (_d, path) = write("[limits]\nmax_pending = 7\nhandshake_timeout = \"3s\"\nidle_timeout = \"2m\"\n");
        let args = LimitArgs {
            config: Some(path),
            max_pending: Some(9),
            ..LimitArgs::default()
        };
        let (limits, explicit) = args.resolve().unwrap();
        assert_eq!(limits.max_pending, 9, "flags win over the file");
        assert_eq!(limits.handshake_timeout, Duration::from_secs(3));
        assert_eq!(limits.idle_timeout, Duration::from_secs(120));
        assert_eq!(limits.max_connections, HostLimits::default().max_connections);
        assert!(!explicit);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let (_d, path) = write("[limits]\nmax_pending = 7\nmax_pendng_per_source = 3\n");
        let args = LimitArgs {
            config: Some(path),
            ..LimitArgs::default()
        };
        let e = args.resolve().unwrap_err().to_string();
        assert!(e.contains("max_pendng_per_source") && e.contains("line 3"), "{e}");
    }
}
