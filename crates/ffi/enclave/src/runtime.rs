//! The runtime behind `cc_sec_chl_enclave_run`: registered C functions, the process-wide
//! session manager that encrypt and decrypt use, and the serve loop.

use crate::functions::{CFunction, call_c};
use sc_enclave::SessionManager;
use sc_enclave::program::{self, AttesterSource, ProgramOptions};
use sc_ffi_common::last_error;
use sc_ffi_common::status::cc_enclave_result_t::{self, *};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The environment variable naming the simulated root key file.
pub(crate) const SIM_ROOT_ENV: &str = "SECURE_CHANNEL_SIM_ROOT";
/// The environment variable choosing the attester: `simulated` (default), `configfs-tsm`
/// or `gramine`.
pub(crate) const ATTESTER_ENV: &str = "SECURE_CHANNEL_ATTESTER";

static FUNCTIONS: Mutex<Option<HashMap<u32, CFunction>>> = Mutex::new(None);
/// The running runtime's sessions (none between runs): each run installs its own, and
/// they are gone when it ends, so that encrypt and decrypt never reach a finished run's.
static SESSIONS: RwLock<Option<Arc<SessionManager>>> = RwLock::new(None);
static RUNNING: AtomicBool = AtomicBool::new(false);

/// The sessions of the run in progress, if one is.
pub(crate) fn sessions() -> Option<Arc<SessionManager>> {
    SESSIONS.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Installs a run's sessions for as long as it lives.
struct Installed;

impl Installed {
    fn new(sessions: Arc<SessionManager>) -> Self {
        *SESSIONS.write().unwrap_or_else(|p| p.into_inner()) = Some(sessions);
        Installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        *SESSIONS.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

pub(crate) fn register(id: u32, function: CFunction) -> Result<(), cc_enclave_result_t> {
    if RUNNING.load(Ordering::SeqCst) {
        return Err(CC_ERROR_SEC_CHL_SVR_ALREADY_INIT);
    }
    FUNCTIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(id, function);
    Ok(())
}

/// Takes the boundary from standard input and output, and points standard output at
/// standard error so that enclave code's prints go to the log.
fn take_boundary() -> Result<(File, File), cc_enclave_result_t> {
    // SAFETY: dup and dup2 only duplicate descriptors; 0, 1 and 2 are the process's
    // standard streams, and the results are checked before use.
    let (input, output, redirected) = unsafe { (libc::dup(0), libc::dup(1), libc::dup2(2, 1)) };
    if input < 0 || output < 0 || redirected < 0 {
        return Err(CC_ERROR_SEC_CHL_SVR_INIT);
    }
    // SAFETY: `input` and `output` are fresh descriptors that nothing else owns.
    let files = unsafe { (OwnedFd::from_raw_fd(input), OwnedFd::from_raw_fd(output)) };
    Ok((File::from(files.0), File::from(files.1)))
}

pub(crate) fn run() -> Result<(), cc_enclave_result_t> {
    if RUNNING.swap(true, Ordering::SeqCst) {
        return Err(CC_ERROR_SEC_CHL_SVR_ALREADY_INIT);
    }
    let result = start_and_serve();
    RUNNING.store(false, Ordering::SeqCst);
    result
}

/// The value after `flag` on the program's command line (`--sim-root FILE`), so that C
/// enclave programs take the same arguments as `secure-channel enclave` (which `serve
/// --enclave` and `demo --enclave` pass).
fn argument(flag: &str) -> Option<std::ffi::OsString> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    args.windows(2).find(|w| w[0] == flag).map(|w| w[1].clone())
}

/// The attester from `--attester` / `SECURE_CHANNEL_ATTESTER` (default simulated) and
/// `--sim-root` / `SECURE_CHANNEL_SIM_ROOT`. A failure is said on stderr as well as kept
/// for `cc_sec_chl_last_error`: the enclave program's stderr is the host's log, and an
/// enclave that cannot start must say why there.
fn attester() -> Result<AttesterSource, cc_enclave_result_t> {
    let name = argument("--attester")
        .map(|a| a.to_string_lossy().into_owned())
        .or_else(|| std::env::var(ATTESTER_ENV).ok())
        .unwrap_or_else(|| "simulated".into());
    let sim_root = argument("--sim-root").or_else(|| std::env::var_os(SIM_ROOT_ENV));
    let fail = |message: String| {
        eprintln!("secure channel enclave runtime: {message}");
        last_error::record(format_args!("{message}"));
        CC_ERROR_SEC_CHL_GET_RA_REPORT
    };
    if name == "simulated" && sim_root.is_none() {
        return Err(fail(format!(
            "the simulated attester needs its root key file: set {SIM_ROOT_ENV}=FILE or pass --sim-root FILE (create one with `secure-channel sim-root create --out FILE`)"
        )));
    }
    let source = AttesterSource::parse(&name, sim_root.map(Into::into)).map_err(|e| fail(format!("attester: {e}")))?;
    if matches!(source, AttesterSource::Simulated(_)) {
        eprintln!(
            "secure channel enclave runtime: attestation is SIMULATED (a development stand-in with no hardware root of trust)"
        );
    }
    Ok(source)
}

fn start_and_serve() -> Result<(), cc_enclave_result_t> {
    let attester = attester()?;
    let functions = FUNCTIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default();
    let offer = crate::streams::offered();
    let mut options = ProgramOptions::with_attester(attester);
    options.streams = offer.is_some();
    let registered = functions.clone();
    let service = program::build_service(&options, |service| {
        for (id, function) in registered {
            service.register_record_function(id, Arc::new(move |call| call_c(function, call)));
        }
    })
    .map_err(|e| last_error::failed(CC_ERROR_SEC_CHL_GET_RA_REPORT, &*e))?;
    let _installed = Installed::new(service.sessions().clone());
    let (input, output) = take_boundary()?;
    let served = match offer {
        None => program::serve(service, input, output),
        Some(hook) => {
            let handler = crate::streams::CHandler { functions, hook };
            let mut streams = None;
            program::serve_streams(
                service,
                handler,
                |s| streams = Some(crate::streams::Installed::install(s)),
                input,
                output,
            )
        }
    };
    served.map_err(|e| last_error::failed(CC_ERROR_SEC_CHL_ENCLAVE_LOST, &e))
}

/// Whether a run is in progress (registrations and offers are closed then).
pub(crate) fn is_running() -> bool {
    RUNNING.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sc_enclave::EnclaveLimits;

    fn manager() -> Arc<SessionManager> {
        let config = sc_protocol::EnclaveConfig::builder()
            .attester(Arc::new(sc_protocol::testing::TestDoubleAttester::new(
                [1; 32], [2; 32],
            )))
            .build()
            .unwrap();
        Arc::new(SessionManager::new(config, None, EnclaveLimits::default()))
    }

    #[test]
    fn each_run_has_its_own_sessions_and_none_outlive_it() {
        assert!(sessions().is_none());
        let first = manager();
        {
            let _run = Installed::new(first.clone());
            assert!(Arc::ptr_eq(&sessions().unwrap(), &first));
        }
        assert!(sessions().is_none(), "a finished run's sessions are gone");
        let second = manager();
        let _run = Installed::new(second.clone());
        assert!(Arc::ptr_eq(&sessions().unwrap(), &second));
    }
}
