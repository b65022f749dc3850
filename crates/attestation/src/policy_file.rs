//! What every policy section shares: the error type, hex values, and files named relative
//! to the policy file.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A policy could not be loaded. Messages name the line and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A file could not be read.
    #[error("policy {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// TOML syntax or a field's value is wrong.
    #[error("policy line {line}: {message}")]
    Invalid {
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The referenced basevalue file is malformed.
    #[error("policy basevalue file {path}: {source}")]
    BaseValue {
        /// The file.
        path: String,
        /// The error, with its line and field.
        source: crate::basevalue::BaseValueError,
    },
    /// The policy accepts nothing, so no channel could ever start.
    #[error("the policy accepts no platform: add a [sgx], [tdx] or [sev_snp] section (or [simulated] for development)")]
    Empty,
}

impl PolicyError {
    /// An invalid value reported by the TOML parser (which knows where it is) in `text`.
    pub(crate) fn from_toml(text: &str, e: &toml::de::Error) -> Self {
        PolicyError::Invalid {
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
            message: e.message().to_string(),
        }
    }
}

/// `N` bytes written as `2N` hex digits.
pub(crate) struct Hex<const N: usize>(pub(crate) [u8; N]);

impl<'de, const N: usize> Deserialize<'de> for Hex<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::hex_text::decode_array(&s)
            .map(Hex)
            .ok_or_else(|| serde::de::Error::custom(format!("expected {} hex digits (a 0x prefix is allowed)", 2 * N)))
    }
}

/// A `pcrs` table: PCR index (`"0"`..`"23"`) to accepted SHA-256 values.
pub(crate) type PcrTable = std::collections::BTreeMap<String, Vec<Hex<32>>>;

/// The values of a list of hex fields, as byte vectors.
pub(crate) fn hex_values<const N: usize>(v: Vec<Hex<N>>) -> Vec<Vec<u8>> {
    v.into_iter().map(|h| h.0.to_vec()).collect()
}

/// `path` from a policy, resolved relative to the policy's directory (none: the current
/// directory).
pub(crate) fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    base.unwrap_or(Path::new(".")).join(path)
}

/// Reads a file named in a policy, relative to the policy's directory.
pub(crate) fn read_relative(base: Option<&Path>, path: &str) -> Result<Vec<u8>, PolicyError> {
    let path = resolve(base, path);
    std::fs::read(&path).map_err(|source| PolicyError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The regular files of directory `dir` (named in a policy), sorted by name.
pub(crate) fn files_in(base: Option<&Path>, dir: &str) -> Result<Vec<PathBuf>, PolicyError> {
    let dir = resolve(base, dir);
    let entries = std::fs::read_dir(&dir).map_err(|source| PolicyError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| PolicyError::Io {
                path: dir.display().to_string(),
                source,
            })?
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
