//! What an attestation platform plugs in: its verifier, and its policy section, which
//! builds that verifier (a factory, so that one parsed policy can build any number of
//! verifiers). Each platform lives in one folder under `platforms/` and is listed once in
//! `platforms::ALL`; the policy reader and the verifier registry only iterate that list and
//! what the policy parsed.

use crate::policy_file::{PolicyError, line_of};
use sc_protocol::{AttestationError, Claims, Evidence, PlatformId, UnixTime};
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use std::any::Any;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Verifies one platform's evidence (format, signatures, chain to a trusted root) and
/// appraises it against that platform's reference values.
pub trait PlatformVerifier: Send + Sync {
    /// Checks `evidence` (and its collateral, if any) at `now`, returning its claims.
    fn verify(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Claims, AttestationError>;
}

/// A platform's parsed policy section.
pub trait PlatformPolicy: Send + Sync + fmt::Debug + Any {
    /// The evidence format this section accepts.
    fn platform(&self) -> PlatformId;

    /// Builds the verifier for this section's platform.
    fn verifier(&self) -> Arc<dyn PlatformVerifier>;

    /// The section as `Any`, for callers that need its concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// One policy section a platform reads: its name in the file and its parser.
#[derive(Clone, Copy)]
pub(crate) struct Section {
    /// The TOML table's name (`sev_snp` for `[sev_snp]`).
    pub(crate) key: &'static str,
    /// Parses the section.
    pub(crate) parse: fn(&SectionInput<'_>) -> Result<Arc<dyn PlatformPolicy>, PolicyError>,
}

/// A platform as the crate knows it.
pub(crate) struct Platform {
    /// Its policy sections (none: it cannot be configured, only refused with a reason).
    pub(crate) sections: &'static [Section],
    /// The platform whose evidence `bytes` looks like, if this one's.
    pub(crate) detect: fn(&[u8]) -> Option<PlatformId>,
    /// What evidence of `platform` claims, parsed but not verified (`None`: not ours).
    pub(crate) describe: Describe,
    /// A verifier used when the policy has no section for the platform, so that its
    /// evidence is refused with a precise reason rather than "unsupported".
    pub(crate) unconfigured: Option<(PlatformId, BuildVerifier)>,
}

/// Reads evidence of a platform without verifying it (`None`: not this platform's).
pub(crate) type Describe = fn(PlatformId, &[u8]) -> Option<Result<Claims, AttestationError>>;

/// Builds a verifier.
pub(crate) type BuildVerifier = fn() -> Arc<dyn PlatformVerifier>;

/// What a section parser gets: the policy's text (so that errors keep their line), the
/// policy's directory (files are named relative to it) and the top-level settings.
pub(crate) struct SectionInput<'a> {
    pub(crate) text: &'a str,
    pub(crate) key: &'static str,
    pub(crate) base_dir: Option<&'a Path>,
    pub(crate) allow_simulated: bool,
}

/// Deserializes the top-level value `key` of policy `text` as `S`, if present, reading the
/// text itself (not a parsed copy) so that an error names the line of the field at fault.
pub(crate) fn parse_key<S: DeserializeOwned>(text: &str, key: &str) -> Result<Option<S>, PolicyError> {
    struct Only<'k, S>(&'k str, std::marker::PhantomData<S>);
    impl<'de, S: DeserializeOwned> Visitor<'de> for Only<'_, S> {
        type Value = Option<S>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a policy table")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Option<S>, M::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == self.0 {
                    found = Some(map.next_value::<S>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    serde::Deserializer::deserialize_map(toml::Deserializer::new(text), Only::<S>(key, std::marker::PhantomData))
        .map_err(|e| PolicyError::from_toml(text, &e))
}

/// The line where top-level `key` of policy `text` is set (`key = ...` or `[key]`).
pub(crate) fn key_line(text: &str, key: &str) -> usize {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let named = t
            .strip_prefix('[')
            .map_or(Some(t), |rest| Some(rest.trim_start()))
            .and_then(|rest| rest.strip_prefix(key))
            .is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.starts_with('=') || rest.starts_with(']') || rest.starts_with('.')
            });
        if named {
            return line_of(text, at);
        }
        at += line.len();
    }
    0
}

impl SectionInput<'_> {
    /// Deserializes this section's table as `S` (errors name the line of the field).
    pub(crate) fn parse<S: DeserializeOwned>(&self) -> Result<S, PolicyError> {
        parse_key(self.text, self.key)?.ok_or_else(|| self.invalid("missing"))
    }

    /// An error in this section, at its header's line.
    pub(crate) fn invalid(&self, message: impl fmt::Display) -> PolicyError {
        PolicyError::Invalid {
            line: key_line(self.text, self.key),
            message: format!("{}: {message}", self.key),
        }
    }

    /// Reads a file the section names, relative to the policy's directory.
    pub(crate) fn read(&self, path: &str) -> Result<Vec<u8>, PolicyError> {
        crate::policy_file::read_relative(self.base_dir, path)
    }
}
