//! The body of an enclave program: attest, hold the sessions, serve boundary calls until
//! the host goes away. The demo enclave (`secure-channel enclave`) and the C runtime in
//! `libtsecure_channel.a` are both this loop with their own application functions.
//!
//! Attestation is chosen by [`AttesterSource`]: the **simulated** TEE
//! (`sc_attestation::sim`: the measurement is the SHA-256 of the running executable, signed
//! with a simulated root key read from a file), or a real platform through configfs-tsm
//! (TDX, SEV-SNP, Arm CCA guests) or Gramine's `/dev/attestation` (SGX).

use crate::streams::{StreamHandler, StreamService, Streams};
use crate::{ChannelService, EnclaveLimits, SessionManager};
use rand_core::{OsRng, RngCore};
use sc_attestation::RefreshingIdentity;
use sc_attestation::attesters::{ConfigFsTsm, GramineAttester};
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot, system_clock};
use sc_protocol::{Attester, EnclaveConfig, UnixTime};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where an enclave program's evidence comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttesterSource {
    /// The simulated TEE, with this root key file (`secure-channel sim-root create`).
    Simulated(PathBuf),
    /// Linux configfs-tsm (`/sys/kernel/config/tsm/report`): TDX, SEV-SNP, Arm CCA guests.
    ConfigFsTsm,
    /// Gramine's `/dev/attestation` (SGX, DCAP).
    Gramine,
}

impl AttesterSource {
    /// Parses `simulated`, `configfs-tsm` or `gramine`; `simulated` needs `sim_root`.
    pub fn parse(name: &str, sim_root: Option<PathBuf>) -> Result<Self, String> {
        match (name, sim_root) {
            ("configfs-tsm", _) => Ok(Self::ConfigFsTsm),
            ("gramine", _) => Ok(Self::Gramine),
            ("simulated", Some(root)) => Ok(Self::Simulated(root)),
            ("simulated", None) => Err("the simulated attester needs a root key file".into()),
            (other, _) => Err(format!(
                "unknown attester {other:?}: simulated, configfs-tsm or gramine"
            )),
        }
    }
}

/// How an enclave program attests and runs.
#[derive(Debug, Clone)]
pub struct ProgramOptions {
    /// Where evidence comes from.
    pub attester: AttesterSource,
    /// The signer identity reported in the evidence.
    pub signer: [u8; 32],
    /// The security version reported in the evidence.
    pub security_version: u32,
    /// How often the identity key's evidence is refreshed.
    pub identity_refresh: Duration,
    /// How often idle sessions are swept.
    pub sweep_every: Duration,
    /// Session limits.
    pub limits: EnclaveLimits,
    /// Grant stream sessions (extension `streams`) to clients that ask (a tunnel).
    pub streams: bool,
}

impl ProgramOptions {
    /// Defaults around a root key file: signer all zeros, security version 1, evidence
    /// refreshed every 5 minutes, sweeps every 30 seconds.
    pub fn new(sim_root: impl Into<PathBuf>) -> Self {
        Self::with_attester(AttesterSource::Simulated(sim_root.into()))
    }

    /// Defaults around an attester.
    pub fn with_attester(attester: AttesterSource) -> Self {
        Self {
            attester,
            signer: [0; 32],
            security_version: 1,
            identity_refresh: Duration::from_secs(300),
            sweep_every: Duration::from_secs(30),
            limits: EnclaveLimits::default(),
            streams: false,
        }
    }
}

/// Builds the service: attester, identity key, sessions and a sweeper thread; `register`
/// adds the application functions.
pub fn build_service(
    options: &ProgramOptions,
    register: impl FnOnce(&mut ChannelService),
) -> Result<ChannelService, Box<dyn std::error::Error + Send + Sync>> {
    let attester: Arc<dyn Attester> = match &options.attester {
        AttesterSource::Simulated(root) => {
            let exe = std::env::current_exe()?;
            let enclave = SimEnclave {
                measurement: sc_attestation::measure_file(&exe)?,
                signer: options.signer,
                security_version: options.security_version,
                debug: false,
            };
            tracing::warn!("enclave attests with the SIMULATED TEE (no hardware root of trust)");
            Arc::new(SimAttester::new(SimRoot::read(root)?, enclave, system_clock()))
        }
        AttesterSource::ConfigFsTsm => Arc::new(ConfigFsTsm::new()?),
        AttesterSource::Gramine => Arc::new(GramineAttester::new()?),
    };
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|e| format!("system random generator: {e}"))?;
    let identity = RefreshingIdentity::new(seed, attester.clone(), options.identity_refresh, UnixTime::now())?;
    // ring's faster X25519 with the system RNG.
    let config = EnclaveConfig::builder()
        .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
        .attester(attester)
        .identity(identity.current(UnixTime::now()))
        .streams(options.streams)
        .build()?;
    let sessions = Arc::new(SessionManager::new(config, Some(identity), options.limits));

    // The whole table every `sweep_every`; sessions waiting for a missing record every
    // second (a host that dropped one is answered within about `order_wait`).
    let sweeper = Arc::downgrade(&sessions);
    let every = options.sweep_every;
    std::thread::spawn(move || {
        let tick = every.min(Duration::from_secs(1));
        let mut since_full = Duration::ZERO;
        loop {
            std::thread::sleep(tick);
            since_full += tick;
            let Some(s) = sweeper.upgrade() else { return };
            let now = UnixTime::now();
            s.expire_gaps(now);
            if since_full >= every {
                since_full = Duration::ZERO;
                s.expire(now);
            }
        }
    });

    let mut service = ChannelService::new(sessions, Arc::new(UnixTime::now));
    register(&mut service);
    Ok(service)
}

/// Worker threads serving boundary calls: one per core, at least two.
fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// Serves boundary calls from `input`, answering on `output`, until the host closes
/// its end.
pub fn serve(
    service: ChannelService,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> std::io::Result<()> {
    sc_boundary::serve(Arc::new(service), input, output, workers())
}

/// Serves boundary calls like [`serve`], the stream sessions by `handler` (a
/// [`StreamService`]); `ready` gets the streams before the first call, for enclave code
/// that pushes.
pub fn serve_streams<H: StreamHandler>(
    service: ChannelService,
    handler: H,
    ready: impl FnOnce(&Arc<Streams>),
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> std::io::Result<()> {
    sc_boundary::serve_pushing(
        |pusher| {
            let service = Arc::new(StreamService::new(service, pusher, handler));
            ready(service.streams());
            service
        },
        input,
        output,
        workers(),
    )
}

/// Serves boundary calls like [`serve`], forwarding every stream session to a TCP
/// connection to `backend` ([`crate::forward::Forward`]).
pub fn serve_forwarding(
    service: ChannelService,
    backend: &str,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> std::io::Result<()> {
    serve_streams(service, crate::forward::Forward::new(backend), |_| {}, input, output)
}

/// Like [`serve_connections`], forwarding every stream session to `backend`: pushes go
/// to whichever host is connected.
pub fn serve_connections_forwarding(
    service: ChannelService,
    backend: &str,
    listener: &sc_boundary::remote::Listener,
) -> std::io::Result<()> {
    let mut service = Some(service);
    let mut forward: Option<Arc<crate::forward::ForwardService>> = None;
    sc_boundary::remote::serve_connections_pushing(
        |pusher| match (&forward, service.take()) {
            (Some(f), _) => {
                f.set_pusher(pusher);
                f.clone()
            }
            (None, Some(s)) => forward
                .insert(Arc::new(crate::forward::ForwardService::forwarding(s, pusher, backend)))
                .clone(),
            (None, None) => unreachable!("the service is taken only when the forwarder is made"),
        },
        listener,
        workers(),
    )
}

/// Serves one host connection after another on `listener` (the enclave program running
/// apart from its host: a confidential VM reached over vsock), until accepting fails.
/// Sessions outlive a host's connection; the idle sweep ends those nobody resumes.
pub fn serve_connections(service: ChannelService, listener: &sc_boundary::remote::Listener) -> std::io::Result<()> {
    sc_boundary::remote::serve_connections(Arc::new(service), listener, workers())
}
