//! `policy init`: a client policy from a real piece of evidence. The evidence is verified
//! first (signatures, chain to the vendor's root, collateral, at the given time) under a
//! policy that pins what the evidence states; only then is that policy written, with a
//! comment on each value saying what it protects against, and the TCB rules at their safe
//! defaults.

use sc_attestation::platforms::{dcap, inspect};
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{Claims, Evidence, PlatformId, Verifier};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What `policy init` takes.
pub struct InitArgs<'a> {
    /// Evidence file.
    pub evidence: &'a Path,
    /// Collateral files or directories (as `verify`).
    pub collateral: &'a [PathBuf],
    /// Verification time (Unix seconds); default now.
    pub at: Option<u64>,
    /// Where to write the policy; standard output if `None`.
    pub out: Option<&'a Path>,
    /// Overwrite `out`.
    pub force: bool,
}

/// The value of named claim `name`, hex, if present and not all zero.
fn named(c: &Claims, name: &str) -> Option<String> {
    c.extra_measurements
        .iter()
        .find(|(n, _)| n == name)
        .filter(|(_, v)| v.iter().any(|b| *b != 0))
        .map(|(_, v)| hex::encode(v))
}

/// The value of named claim `name`, hex (even if zero).
fn named_any(c: &Claims, name: &str) -> Option<String> {
    c.extra_measurements
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| hex::encode(v))
}

/// The policy text pinning what `c` states, for `platform`.
fn skeleton(platform: PlatformId, c: &Claims) -> Result<String> {
    let mut t = String::new();
    let m = hex::encode(&c.measurement);
    let line = |t: &mut String, key: &str, value: Option<String>, why: &str| {
        if let Some(v) = value {
            let _ = writeln!(t, "# {why}\n{key} = [\"{v}\"]");
        }
    };
    match platform {
        PlatformId::TDX_DCAP | PlatformId::AZURE_TDX_VTPM => {
            let section = if platform == PlatformId::TDX_DCAP {
                "tdx"
            } else {
                "azure_tdx"
            };
            let _ = writeln!(
                t,
                "[{section}]\n# MRTD: the TD image (firmware) that booted.\nmrtds = [\"{m}\"]"
            );
            for i in 0..4 {
                line(
                    &mut t,
                    &format!("rtmr{i}"),
                    named_any(c, &format!("rtmr{i}")),
                    &format!("RTMR{i}: what the image measured at run time (the workload, its configuration)."),
                );
            }
            line(
                &mut t,
                "mr_config_id",
                named(c, "mr_config_id"),
                "MR_CONFIG_ID: the VMM-provided configuration.",
            );
            line(&mut t, "mr_owner", named(c, "mr_owner"), "MR_OWNER: the TD's owner.");
            line(
                &mut t,
                "mr_owner_config",
                named(c, "mr_owner_config"),
                "MR_OWNER_CONFIG: the owner's configuration.",
            );
            line(
                &mut t,
                "td_attributes",
                named_any(c, "td_attributes"),
                "TD attributes: debug and other TD features.",
            );
            line(
                &mut t,
                "xfam",
                named_any(c, "xfam"),
                "XFAM: the CPU extended features the TD may use.",
            );
        }
        PlatformId::SGX_DCAP => {
            let _ = writeln!(
                t,
                "[sgx]\n# MRENCLAVE: the enclave's code and data.\nmrenclaves = [\"{m}\"]"
            );
            if let Some(s) = &c.signer {
                let _ = writeln!(
                    t,
                    "# MRSIGNER: the key that signed the enclave.\nmrsigners = [\"{}\"]",
                    hex::encode(s)
                );
            }
            if let Some(id) = named_any(c, "isv_prod_id") {
                let id = u16::from_str_radix(&id, 16).unwrap_or(0);
                let _ = writeln!(t, "# The product this enclave is.\nisv_prod_ids = [{id}]");
            }
            if let Some(svn) = c.security_version {
                let _ = writeln!(
                    t,
                    "# Older enclave versions (with fixed vulnerabilities) are refused.\nmin_isv_svn = {svn}"
                );
            }
        }
        PlatformId::SEV_SNP | PlatformId::AZURE_SNP_VTPM => {
            let section = if platform == PlatformId::SEV_SNP {
                "sev_snp"
            } else {
                "azure_snp"
            };
            let _ = writeln!(
                t,
                "[{section}]\n# MEASUREMENT: the guest's launch image{}.\nmeasurements = [\"{m}\"]",
                if platform == PlatformId::SEV_SNP {
                    ""
                } else {
                    " (the paravisor's, on Azure)"
                }
            );
            if let Some(p) = named_any(c, "guest_policy") {
                let p = u64::from_str_radix(&p, 16).unwrap_or(0);
                let _ = writeln!(
                    t,
                    "# The guest policy the VM was launched with (debug, SMT, migration...).\nguest_policies = [\"{p:#x}\"]"
                );
            }
            if let Some(v) = named_any(c, "vmpl") {
                let v = u32::from_str_radix(&v, 16).unwrap_or(0);
                let _ = writeln!(t, "# The privilege level that asked for the report.\nvmpl = [{v}]");
            }
            line(
                &mut t,
                "host_data",
                named(c, "host_data"),
                "HOST_DATA: data the host bound at launch.",
            );
            line(
                &mut t,
                "id_key_digest",
                named(c, "id_key_digest"),
                "The key that signed the launch (ID block).",
            );
            line(
                &mut t,
                "author_key_digest",
                named(c, "author_key_digest"),
                "The key that authorised the ID key.",
            );
            if platform == PlatformId::AZURE_SNP_VTPM {
                let _ = writeln!(
                    t,
                    "# vTPM PCRs: the workload the paravisor booted (firmware, boot loader, kernel...)."
                );
                let pcrs: Vec<String> = (0..8)
                    .filter_map(|i| named_any(c, &format!("pcr{i:02}")).map(|v| format!("{i} = [\"{v}\"]")))
                    .collect();
                let _ = writeln!(t, "pcrs = {{ {} }}", pcrs.join(", "));
            }
        }
        other => {
            return Err(format!(
                "policy init: {} evidence has no workload policy to write (simulated: `serve --policy-out` writes one)",
                other
            )
            .into());
        }
    }
    Ok(t)
}

/// Where a piece of evidence came from, for the policy's header.
pub enum Origin<'a> {
    /// A file given to `policy init`.
    File(&'a Path),
    /// The running enclave, probed by `serve` (report data expected: the probe's).
    Probe {
        /// The report data the enclave must have attested.
        report_data: [u8; 64],
    },
}

/// A verified client policy for `bytes` (evidence of `platform`): the skeleton pinning
/// what the evidence states, verified under exactly that policy (with DCAP collateral
/// from `collateral`, or the evidence's own carried collateral) at `at`, with its header.
pub fn policy_for_evidence(
    platform: PlatformId,
    bytes: &[u8],
    collateral: &[PathBuf],
    carried: Option<&[u8]>,
    at: Option<u64>,
    origin: &Origin<'_>,
) -> Result<String> {
    let stated = inspect::describe(platform, bytes)?;
    let text = skeleton(platform, &stated)?;
    let mut policy = Policy::from_toml(&text, None)?;
    if matches!(
        platform,
        PlatformId::SGX_DCAP | PlatformId::TDX_DCAP | PlatformId::AZURE_TDX_VTPM
    ) {
        let sets = crate::attestation_cmds::dcap_collateral(collateral)?;
        policy = policy.map_sections(|mut s: dcap::DcapPolicy| {
            s.collateral.splice(0..0, sets.iter().cloned());
            s
        });
    }
    let registry = VerifierRegistry::from_policy(&policy)?;
    let now = at.map_or_else(sc_protocol::UnixTime::now, sc_protocol::UnixTime::from_secs);
    let mut e = Evidence::new(platform, bytes);
    e.collateral = carried;
    let expected = match origin {
        Origin::File(_) => stated.report_data,
        Origin::Probe { report_data } => *report_data,
    };
    let claims = registry.verify(&e, &expected, now).map_err(|reason| {
        let hint = sc_attestation::hint(&reason).map_or(String::new(), |h| format!(" (hint: {h})"));
        format!(
            "the evidence does not verify, so no policy was written: {}{hint}",
            sc_protocol::ErrorChain(&reason)
        )
    })?;
    let source = match origin {
        Origin::File(path) => format!(
            "`secure-channel policy init` from verified {platform} evidence ({})",
            path.display()
        ),
        Origin::Probe { .. } => {
            format!("`secure-channel serve` from the running enclave's verified {platform} evidence")
        }
    };
    let header = format!(
        "# Client policy written by {source}\n\
         # (TCB status {}). It accepts only the values below; TCB rules are at their safe\n\
         # defaults (accepted_tcb_statuses = [\"UpToDate\"], no advisories tolerated).\n\n",
        claims
            .tcb_status
            .as_ref()
            .map_or("not given".to_owned(), |s| s.to_string())
    );
    Ok(format!("{header}{text}"))
}

/// `policy init`.
pub fn init(args: InitArgs<'_>, out: &mut dyn Write) -> Result<()> {
    if let Some(path) = args.out {
        if path.exists() && !args.force {
            return Err(format!("{} exists: not overwriting it (--force to replace it)", path.display()).into());
        }
    }
    let bytes = std::fs::read(args.evidence).map_err(|e| format!("cannot read {}: {e}", args.evidence.display()))?;
    let bytes = sc_attestation::hex_text::decode(&String::from_utf8_lossy(&bytes)).unwrap_or(bytes);
    let platform = inspect::detect(&bytes).ok_or("cannot tell the evidence's platform")?;
    let dcap = matches!(
        platform,
        PlatformId::SGX_DCAP | PlatformId::TDX_DCAP | PlatformId::AZURE_TDX_VTPM
    );
    let carried = match args.collateral {
        [one] if !dcap => Some(std::fs::read(one).map_err(|e| format!("cannot read {}: {e}", one.display()))?),
        _ => None,
    };
    let full = policy_for_evidence(
        platform,
        &bytes,
        if dcap { args.collateral } else { &[] },
        carried.as_deref(),
        args.at,
        &Origin::File(args.evidence),
    )?;
    match args.out {
        Some(path) => {
            std::fs::write(path, &full).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            writeln!(out, "policy for {platform} evidence written to {}", path.display())?;
        }
        None => write!(out, "{full}")?,
    }
    Ok(())
}
