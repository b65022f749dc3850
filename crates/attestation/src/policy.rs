//! Reference-value policy: what a client accepts, per platform.
//!
//! File format (TOML; unknown keys are errors so that a typo cannot weaken a policy):
//!
//! ```toml
//! # Accept simulated evidence at all (development only). Default: false.
//! allow_simulated = true
//!
//! [simulated]
//! root_public_key = "<64 hex>"        # trust anchor: `secure-channel sim-root create` prints it
//! measurements = ["<64 hex>"]         # accepted enclave measurements (`secure-channel measure`)
//! signers = ["<64 hex>"]              # optional: accepted signer ids (any, if absent)
//! min_security_version = 1            # optional
//! allow_debug = false                 # default false
//! max_evidence_age_secs = 3600        # optional: reject older evidence
//! basevalues = "trusted_tas.txt"      # optional: original `taid img_hash mem_hash` file,
//!                                     # relative to the policy file
//! ```
//!
//! Hardware platforms have their own sections, documented with their platforms:
//! `[sgx]` and `[tdx]` ([`crate::platforms::dcap`]) and `[sev_snp]`
//! ([`crate::platforms::snp`]). Paths in a policy are relative to the policy file. Each
//! section is read by its platform (`platforms::ALL` lists them); this module reads the
//! top level and hands each table to the platform that owns it.

use crate::platform::{PlatformPolicy, SectionInput, key_line, parse_key};
use crate::platforms;
use crate::platforms::sim::SimulatedPolicy;
use crate::policy_file::PolicyError;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A whole client policy: one parsed section per configured platform.
#[derive(Clone, Default)]
pub struct Policy {
    /// Accept simulated evidence at all.
    pub allow_simulated: bool,
    sections: Vec<Arc<dyn PlatformPolicy>>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("allow_simulated", &self.allow_simulated)
            .field("sections", &self.sections)
            .finish()
    }
}

impl Policy {
    /// Reads a policy file; paths in it are resolved relative to it.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, path.parent())
    }

    /// Parses policy text. `base_dir` resolves relative paths (none: the current
    /// directory).
    pub fn from_toml(text: &str, base_dir: Option<&Path>) -> Result<Self, PolicyError> {
        // Syntax first, with its line; then every top-level key must be known.
        let table: toml::Table = toml::from_str(text).map_err(|e| PolicyError::from_toml(text, &e))?;
        let allow_simulated = parse_key::<bool>(text, "allow_simulated")?.unwrap_or(false);
        let known = platforms::sections();
        if let Some(unknown) = table
            .keys()
            .find(|k| *k != "allow_simulated" && !known.iter().any(|s| s.key == *k))
        {
            let names: Vec<_> = known.iter().map(|s| s.key).collect();
            return Err(PolicyError::Invalid {
                line: key_line(text, unknown),
                message: format!(
                    "unknown field `{unknown}`: expected `allow_simulated` or a section [{}]",
                    names.join("], [")
                ),
            });
        }
        let mut sections = Vec::new();
        for section in known.iter().filter(|s| table.contains_key(s.key)) {
            sections.push((section.parse)(&SectionInput {
                text,
                key: section.key,
                base_dir,
                allow_simulated,
            })?);
        }
        if sections.is_empty() {
            return Err(PolicyError::Empty);
        }
        Ok(Policy {
            allow_simulated,
            sections,
        })
    }

    /// A development policy accepting simulated evidence signed by `root_public_key` for
    /// any of `measurements`, and nothing else (the policy a test or a local demo needs).
    pub fn simulated(root_public_key: [u8; 32], measurements: &[[u8; 32]]) -> Self {
        Policy {
            allow_simulated: true,
            sections: vec![Arc::new(SimulatedPolicy::accepting(root_public_key, measurements))],
        }
    }

    /// The configured platforms' sections.
    pub fn sections(&self) -> impl Iterator<Item = &dyn PlatformPolicy> {
        self.sections.iter().map(|s| &**s)
    }

    /// The section of concrete type `T` (for example
    /// [`crate::platforms::sim::SimulatedPolicy`]), if configured.
    pub fn section<T: PlatformPolicy>(&self) -> Option<&T> {
        self.sections().find_map(|s| s.as_any().downcast_ref::<T>())
    }

    /// The policy with every section of type `T` replaced by `f` of it (a tool adding
    /// collateral given on its command line to the `[sgx]` and `[tdx]` sections, say).
    pub fn map_sections<T: PlatformPolicy + Clone>(mut self, f: impl Fn(T) -> T) -> Self {
        for section in &mut self.sections {
            if let Some(t) = section.as_any().downcast_ref::<T>() {
                *section = Arc::new(f(t.clone()));
            }
        }
        self
    }
}
