//! `serve`'s configuration: defaults, then the TOML file (`--config`), then flags. Unknown
//! keys are refused with their line (a misspelt limit silently left at its default is how
//! servers fall over); paths in the file are relative to the file. `--check-config`
//! validates the result and prints it.
//!
//! ```toml
//! listen = "0.0.0.0:7000"
//! policy_out = "client-policy.toml"
//! [enclave]
//! attester = "configfs-tsm"        # or "sim" with sim_root, or "gramine"
//! program = "/usr/libexec/secure-channel-enclave"   # or: address = "vsock://3:7001"
//! [limits]
//! max_pending = 1024
//! handshake_timeout = "10s"
//! [log]
//! level = "info"
//! format = "json"
//! [metrics]
//! listen = "127.0.0.1:9100"
//! [shutdown]
//! drain_timeout = "30s"
//! ```

use super::limits::{LimitArgs, LimitsView};
use crate::logging::LogFormat;
use clap::Args;
use sc_host::HostLimits;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `serve`'s flags. Each one, when given, overrides the file.
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// TOML configuration file (docs/OPERATIONS.md); the flags below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Validate the configuration, print the effective one and exit.
    #[arg(long)]
    pub check_config: bool,
    /// Address to listen on for clients [default: 127.0.0.1:7000].
    #[arg(long)]
    pub listen: Option<String>,
    /// Where the enclave's evidence comes from: sim (the simulated TEE, with --sim-root),
    /// configfs-tsm (TDX, SEV-SNP, Arm CCA guests) or gramine (SGX) [default: sim].
    #[arg(long)]
    pub attester: Option<String>,
    /// Simulated root key file (create one with `sim-root create`); only with
    /// `--attester sim`.
    #[arg(long)]
    pub sim_root: Option<PathBuf>,
    /// The enclave: a program to start (it gets `--sim-root <file>` or `--attester <name>`
    /// and speaks the boundary protocol on stdin/stdout; default `secure-channel enclave`),
    /// or the address of an enclave program already running apart (`secure-channel
    /// enclave --listen ...`): vsock://CID:PORT, unix://PATH or tcp://HOST:PORT.
    #[arg(long)]
    pub enclave: Option<String>,
    /// Where to write the policy clients need [default: client-policy.toml] (an existing
    /// file is kept unless --force).
    #[arg(long)]
    pub policy_out: Option<PathBuf>,
    /// Overwrite --policy-out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Run as a tunnel: the enclave forwards every stream session to a TCP connection to
    /// this address (HOST:PORT, reached from inside the TEE); clients use
    /// `secure-channel tunnel`.
    #[arg(long)]
    pub forward: Option<String>,
    /// Address for the operations endpoint (/metrics, /healthz, /readyz); none by default.
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Log level, an EnvFilter directive (info, debug, info,sc_host=debug) [default: info].
    #[arg(long)]
    pub log_level: Option<String>,
    /// Log line format [default: text].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// On SIGTERM or SIGINT, how long handshakes and requests in progress may take to
    /// finish before the rest are cut (e.g. 30s) [default: 30s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub drain_timeout: Option<Duration>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    policy_out: Option<PathBuf>,
    #[serde(default)]
    enclave: EnclaveSection,
    #[serde(default)]
    limits: LimitArgs,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    shutdown: ShutdownSection,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct EnclaveSection {
    forward: Option<String>,
    program: Option<PathBuf>,
    address: Option<String>,
    attester: Option<String>,
    sim_root: Option<PathBuf>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct LogSection {
    level: Option<String>,
    format: Option<LogFormat>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    listen: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ShutdownSection {
    #[serde(default, deserialize_with = "duration")]
    drain_timeout: Option<Duration>,
}

fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Where the enclave is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnclaveLocation {
    /// A program `serve` starts and supervises (`None`: this executable's `enclave` verb).
    Program(Option<PathBuf>),
    /// An enclave program running apart, reached at this address.
    Remote(sc_boundary::remote::Address),
}

/// The configuration in force.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Client listener.
    pub listen: String,
    /// Where the client policy goes.
    pub policy_out: PathBuf,
    /// Overwrite it.
    pub force: bool,
    /// The enclave.
    pub enclave: EnclaveLocation,
    /// Attester name (sim, configfs-tsm, gramine).
    pub attester: String,
    /// The backend the enclave forwards stream sessions to (a tunnel), if any.
    pub forward: Option<String>,
    /// Simulated root key, with `sim`.
    pub sim_root: Option<PathBuf>,
    /// Limits and deadlines.
    pub limits: HostLimits,
    /// Whether the connection cap was set (not lowered to fit the descriptor limit).
    pub explicit_cap: bool,
    /// Log level directive.
    pub log_level: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Operations endpoint address.
    pub metrics_listen: Option<String>,
    /// Drain deadline on SIGTERM/SIGINT.
    pub drain_timeout: Duration,
}

/// Default drain deadline.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

/// A path from the file, relative to the file's directory.
fn from_file(base: Option<&Path>, p: PathBuf) -> PathBuf {
    match base {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p,
    }
}

fn read_file(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

impl ServeArgs {
    /// Defaults, then the file, then these flags; `level_override` is the global -v/-q
    /// choice, if one was made.
    pub fn resolve(&self, level_override: Option<&str>) -> Result<ServeConfig> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => File::default(),
        };
        let base = self.config.as_deref().and_then(Path::parent);
        let rel = |p: Option<PathBuf>| p.map(|p| from_file(base, p));
        let enclave = match (&self.enclave, file.enclave.program, file.enclave.address) {
            (Some(flag), _, _) => parse_enclave(flag)?,
            (None, Some(_), Some(_)) => {
                return Err("[enclave] has both program and address: give one".into());
            }
            (None, Some(p), None) => EnclaveLocation::Program(Some(from_file(base, p))),
            (None, None, Some(a)) => EnclaveLocation::Remote(a.parse()?),
            (None, None, None) => EnclaveLocation::Program(None),
        };
        let (limits, explicit_cap) = self.limits.resolve_over(&file.limits);
        Ok(ServeConfig {
            listen: self
                .listen
                .clone()
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:7000".into()),
            policy_out: self
                .policy_out
                .clone()
                .or(rel(file.policy_out))
                .unwrap_or_else(|| "client-policy.toml".into()),
            force: self.force,
            enclave,
            attester: self
                .attester
                .clone()
                .or(file.enclave.attester)
                .unwrap_or_else(|| "sim".into()),
            sim_root: self.sim_root.clone().or(rel(file.enclave.sim_root)),
            forward: self.forward.clone().or(file.enclave.forward),
            limits,
            explicit_cap,
            log_level: level_override
                .map(str::to_owned)
                .or(self.log_level.clone())
                .or(file.log.level)
                .unwrap_or_else(|| "info".into()),
            log_format: self.log_format.or(file.log.format).unwrap_or_default(),
            metrics_listen: self.metrics_listen.clone().or(file.metrics.listen),
            drain_timeout: self
                .drain_timeout
                .or(file.shutdown.drain_timeout)
                .unwrap_or(DEFAULT_DRAIN),
        })
    }
}

/// `--enclave`: an address if it has a scheme, else a program path.
fn parse_enclave(text: &str) -> Result<EnclaveLocation> {
    if text.contains("://") {
        Ok(EnclaveLocation::Remote(text.parse()?))
    } else {
        Ok(EnclaveLocation::Program(Some(PathBuf::from(text))))
    }
}

/// The configuration as `--check-config` prints it.
#[derive(Serialize)]
struct View<'a> {
    listen: &'a str,
    policy_out: &'a Path,
    enclave: EnclaveView<'a>,
    limits: LimitsView,
    log: LogView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<MetricsView<'a>>,
    shutdown: ShutdownView,
}

#[derive(Serialize)]
struct EnclaveView<'a> {
    attester: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sim_root: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    program: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forward: Option<&'a str>,
}

#[derive(Serialize)]
struct LogView<'a> {
    level: &'a str,
    format: LogFormat,
}

#[derive(Serialize)]
struct MetricsView<'a> {
    listen: &'a str,
}

#[derive(Serialize)]
struct ShutdownView {
    drain_timeout: String,
}

impl ServeConfig {
    /// Checks what can be checked without starting anything: addresses, the attester and
    /// its key, the enclave program, the log level.
    pub fn validate(&self) -> Result<()> {
        use std::net::ToSocketAddrs;
        self.listen
            .to_socket_addrs()
            .map_err(|e| format!("listen = {:?}: {e}", self.listen))?;
        if let Some(m) = &self.metrics_listen {
            m.to_socket_addrs()
                .map_err(|e| format!("metrics listen = {m:?}: {e}"))?;
            let fixed = |a: &str| a.parse::<std::net::SocketAddr>().ok().filter(|a| a.port() != 0);
            if fixed(m).is_some() && fixed(m) == fixed(&self.listen) {
                return Err(format!("the metrics endpoint and the client listener are both on {m}").into());
            }
        }
        let attestation = super::Attestation::from_args(&self.attester, self.sim_root.as_deref())?;
        if let super::Attestation::Simulated(root) = &attestation {
            sc_attestation::sim::SimRoot::read(root)
                .map_err(|e| format!("cannot read the simulated root key {}: {e}", root.display()))?;
        }
        if let EnclaveLocation::Program(Some(p)) = &self.enclave {
            let meta = std::fs::metadata(p).map_err(|e| format!("enclave program {}: {e}", p.display()))?;
            use std::os::unix::fs::PermissionsExt;
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                return Err(format!("enclave program {} is not an executable file", p.display()).into());
            }
        }
        if self.forward.is_some() && matches!(self.enclave, EnclaveLocation::Remote(_)) {
            return Err(
                "forward applies to an enclave program serve starts; give --forward to `secure-channel enclave` running apart"
                    .into(),
            );
        }
        crate::logging::filter(&self.log_level)?;
        if self.drain_timeout.is_zero() {
            return Err("drain_timeout must be more than zero".into());
        }
        Ok(())
    }

    /// The configuration as TOML (for `--check-config`).
    pub fn to_toml(&self) -> String {
        let (program, address) = match &self.enclave {
            EnclaveLocation::Program(p) => (
                Some(
                    p.as_ref()
                        .map_or("(this executable's `enclave` verb)".into(), |p| p.display().to_string()),
                ),
                None,
            ),
            EnclaveLocation::Remote(a) => (None, Some(a.to_string())),
        };
        let view = View {
            listen: &self.listen,
            policy_out: &self.policy_out,
            enclave: EnclaveView {
                attester: &self.attester,
                sim_root: self.sim_root.as_deref(),
                program,
                address,
                forward: self.forward.as_deref(),
            },
            limits: LimitsView::from(&self.limits),
            log: LogView {
                level: &self.log_level,
                format: self.log_format,
            },
            metrics: self.metrics_listen.as_deref().map(|listen| MetricsView { listen }),
            shutdown: ShutdownView {
                drain_timeout: humantime::format_duration(self.drain_timeout).to_string(),
            },
        };
        toml::to_string(&view).unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn file_then_flags_over_defaults_with_paths_relative_to_the_file() {
        let (dir, path) = write(
            "listen = \"0.0.0.0:7100\"\npolicy_out = \"out/p.toml\"\n[enclave]\nsim_root = \"root.key\"\n\
             [limits]\nmax_pending = 7\n[log]\nformat = \"json\"\nlevel = \"debug\"\n\
             [metrics]\nlisten = \"127.0.0.1:9100\"\n[shutdown]\ndrain_timeout = \"5s\"\n",
        );
        let args = ServeArgs {
            config: Some(path),
            listen: Some("127.0.0.1:7200".into()),
            ..ServeArgs::default()
        };
        let c = args.resolve(None).unwrap();
        assert_eq!(c.listen, "127.0.0.1:7200", "the flag wins");
        assert_eq!(c.policy_out, dir.path().join("out/p.toml"));
        assert_eq!(c.sim_root, Some(dir.path().join("root.key")));
        assert_eq!(c.limits.max_pending, 7);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log_level, "debug");
        assert_eq!(args.resolve(Some("error")).unwrap().log_level, "error", "-q wins");
        assert_eq!(c.metrics_listen.as_deref(), Some("127.0.0.1:9100"));
        assert_eq!(c.drain_timeout, Duration::from_secs(5));
        assert_eq!(c.enclave, EnclaveLocation::Program(None));
        let printed = c.to_toml();
        assert!(
            printed.contains("listen = \"127.0.0.1:7200\"") && printed.contains("max_pending = 7"),
            "{printed}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        for (text, key, line) in [
            (
                "[limits]\nmax_pending = 7\nmax_pendng_per_source = 3\n",
                "max_pendng_per_source",
                "line 3",
            ),
            ("listen = \"x\"\nlisten_addr = \"y\"\n", "listen_addr", "line 2"),
            ("[log]\nlevel = \"info\"\ncolour = true\n", "colour", "line 3"),
            ("[metric]\nlisten = \"y\"\n", "metric", "line 1"),
        ] {
            let (_d, path) = write(text);
            let e = ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            }
            .resolve(None)
            .unwrap_err()
            .to_string();
            assert!(e.contains(key) && e.contains(line), "{e}");
        }
    }

    #[test]
    fn the_enclave_is_a_program_or_an_address() {
        let c = |flag: &str| {
            ServeArgs {
                enclave: Some(flag.into()),
                ..ServeArgs::default()
            }
            .resolve(None)
        };
        assert_eq!(
            c("/usr/bin/enclave").unwrap().enclave,
            EnclaveLocation::Program(Some("/usr/bin/enclave".into()))
        );
        assert!(matches!(
            c("unix:///run/e.sock").unwrap().enclave,
            EnclaveLocation::Remote(_)
        ));
        assert!(matches!(
            c("vsock://3:7001").unwrap().enclave,
            EnclaveLocation::Remote(_)
        ));
        let e = c("ftp://x").unwrap_err().to_string();
        assert!(e.contains("ftp://x") && e.contains("vsock://"), "{e}");
        let (_d, both) = write("[enclave]\nprogram = \"a\"\naddress = \"unix:///b\"\n");
        assert!(
            ServeArgs {
                config: Some(both),
                ..ServeArgs::default()
            }
            .resolve(None)
            .unwrap_err()
            .to_string()
            .contains("both program and address")
        );
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let base = ServeArgs {
            attester: Some("configfs-tsm".into()),
            ..ServeArgs::default()
        };
        assert!(base.resolve(None).unwrap().validate().is_ok());
        let bad = |args: ServeArgs, needle: &str| {
            let e = args.resolve(None).unwrap().validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        };
        bad(
            ServeArgs {
                listen: Some("nowhere".into()),
                ..base.clone()
            },
            "listen = \"nowhere\"",
        );
        bad(
            ServeArgs {
                attester: None,
                ..base.clone()
            },
            "needs --sim-root",
        );
        bad(
            ServeArgs {
                enclave: Some("/no/such/program".into()),
                ..base.clone()
            },
            "enclave program /no/such/program",
        );
        bad(
            ServeArgs {
                log_level: Some("info,=[".into()),
                ..base.clone()
            },
            "invalid log level",
        );
        bad(
            ServeArgs {
                metrics_listen: Some("127.0.0.1:7000".into()),
                ..base.clone()
            },
            "both on 127.0.0.1:7000",
        );
    }
}
