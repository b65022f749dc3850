//! The body of an enclave program: attest, hold the sessions, serve boundary calls until
//! the host goes away. The demo enclave (`secure-channel enclave`) and the C runtime in
//! `libtsecure_channel.a` are both this loop with their own application functions.
//!
//! Attestation here is the **simulated** TEE (`sc_attestation::sim`): the measurement is
//! the SHA-256 of the running executable, signed with a simulated root key read from a
//! file. Real platforms plug in through the same `Attester` trait.

use crate::{ChannelService, EnclaveLimits, SessionManager};
use rand_core::{OsRng, RngCore};
use sc_attestation::RefreshingIdentity;
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot, system_clock};
use sc_protocol::{EnclaveConfig, UnixTime};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How an enclave program attests and runs.
#[derive(Debug, Clone)]
pub struct ProgramOptions {
    /// The simulated root key file (`secure-channel sim-root create`).
    pub sim_root: PathBuf,
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
}

impl ProgramOptions {
    /// Defaults around a root key file: signer all zeros, security version 1, evidence
    /// refreshed every 5 minutes, sweeps every 30 seconds.
    pub fn new(sim_root: impl Into<PathBuf>) -> Self {
        Self {
            sim_root: sim_root.into(),
            signer: [0; 32],
            security_version: 1,
            identity_refresh: Duration::from_secs(300),
            sweep_every: Duration::from_secs(30),
            limits: EnclaveLimits::default(),
        }
    }
}

/// Builds the service: attester, identity key, sessions and a sweeper thread; `register`
/// adds the application functions.
pub fn build_service(
    options: &ProgramOptions,
    register: impl FnOnce(&mut ChannelService),
) -> Result<ChannelService, Box<dyn std::error::Error + Send + Sync>> {
    let exe = std::env::current_exe()?;
    let enclave = SimEnclave {
        measurement: sc_attestation::measure_file(&exe)?,
        signer: options.signer,
        security_version: options.security_version,
        debug: false,
    };
    tracing::warn!("enclave attests with the SIMULATED TEE (no hardware root of trust)");
    let attester = Arc::new(SimAttester::new(
        SimRoot::read(&options.sim_root)?,
        enclave,
        system_clock(),
    ));
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|e| format!("system random generator: {e}"))?;
    let identity = RefreshingIdentity::new(seed, attester.clone(), options.identity_refresh, UnixTime::now())?;
    // ring's faster X25519 with the system RNG.
    let config = EnclaveConfig::builder()
        .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
        .attester(attester)
        .identity(identity.current(UnixTime::now())?)
        .build()?;
    let sessions = Arc::new(SessionManager::new(config, Some(identity), options.limits));

    let sweeper = Arc::downgrade(&sessions);
    let every = options.sweep_every;
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(every);
            match sweeper.upgrade() {
                Some(s) => s.expire(UnixTime::now()),
                None => return,
            };
        }
    });

    let mut service = ChannelService::new(sessions, Arc::new(UnixTime::now));
    register(&mut service);
    Ok(service)
}

/// Serves boundary calls from `input`, answering on `output`, until the host closes
/// its end. One worker per core, at least two.
pub fn serve(
    service: ChannelService,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> std::io::Result<()> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2);
    sc_boundary::serve(Arc::new(service), input, output, workers)
}
