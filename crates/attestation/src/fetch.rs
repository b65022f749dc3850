//! Fetching collateral from a service, and keeping it on disk (opt-in: a policy that names
//! no service never touches the network). Every fetch has a time limit and a size limit;
//! the cache writes atomically (a temporary file renamed) so that a crash never leaves half
//! an item. The platform services (`platforms::dcap::service`, `platforms::snp::kds`)
//! decide what to fetch, how long it stays valid and when to refresh.

use sc_protocol::UnixTime;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest response accepted (a TDX TCB info is tens of kilobytes, a PCK CRL at most a few
/// hundred).
pub const MAX_RESPONSE: u64 = 2 << 20;
/// Time limit of one fetch, unless the policy sets `fetch_timeout_secs`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Collateral is fetched again this long before it expires.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(24 * 3600);

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer within the time limit.
    #[error("{url}: no answer within {limit:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        limit: Duration,
    },
    /// The service answered with an error status.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is larger than [`MAX_RESPONSE`].
    #[error("{url}: response larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The service could not be reached (connection, TLS, protocol).
    #[error("{url}: unreachable")]
    Unreachable {
        /// The URL.
        url: String,
        /// The client's error.
        #[source]
        cause: ureq::Error,
    },
}

/// One response: body and headers (lower-case names).
#[derive(Debug, Clone)]
pub struct Response {
    /// The body.
    pub body: Vec<u8>,
    /// The headers.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP(S) client with a time limit and a size limit on every fetch.
#[derive(Debug, Clone)]
pub struct Http {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Http {
    /// A client whose fetches each take at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self { agent, timeout }
    }

    /// GETs `url`.
    pub fn get(&self, url: &str) -> Result<Response, FetchError> {
        let classify = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => FetchError::Timeout {
                url: url.to_owned(),
                limit: self.timeout,
            },
            ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge {
                url: url.to_owned(),
                limit: MAX_RESPONSE,
            },
            cause => FetchError::Unreachable {
                url: url.to_owned(),
                cause,
            },
        };
        let mut response = self.agent.get(url).call().map_err(classify)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status,
            });
        }
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(classify)?;
        Ok(Response { body, headers })
    }
}

/// A directory of cached items.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    /// A cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Where item `key` lives (a file, or a directory of files).
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// Writes `files` (name, bytes) as the directory `key`, replacing what was there, in
    /// one rename.
    pub fn store_dir(&self, key: &str, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let staging = self.staging(key);
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        for (name, bytes) in files {
            std::fs::write(staging.join(name), bytes)?;
        }
        let target = self.path(key);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&staging, &target)
    }

    /// Writes one file `key`, in one rename.
    pub fn store_file(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let staging = self.staging(key);
        std::fs::write(&staging, bytes)?;
        std::fs::rename(&staging, self.path(key))
    }

    /// A temporary name for `key` that no other writer, in this process or another, uses.
    fn staging(&self, key: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.dir.join(format!(".{key}.{}.{n}", std::process::id()))
    }

    /// Reads file `key`, if cached.
    pub fn load_file(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(key)).ok()
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/secure-channel`, else
/// `$HOME/.cache/secure-channel`, else one under the system's temporary directory.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("secure-channel")
}

/// A service's client and cache from a policy's settings: its URL (named `url_key` in
/// errors), the cache directory (relative to `base`, default `default_subdir` under
/// [`default_cache_dir`]) and the time limit. The error is the message for the policy.
pub fn configure(
    url_key: &str,
    url: &str,
    cache: Option<&str>,
    timeout_secs: Option<u64>,
    base: Option<&Path>,
    default_subdir: &str,
) -> Result<(Http, DiskCache), String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("{url_key}: {url:?} is not an http(s) URL"));
    }
    let cache = match cache {
        Some(dir) => crate::policy_file::resolve(base, dir),
        None => default_cache_dir().join(default_subdir),
    };
    let timeout = timeout_secs.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    Ok((Http::new(timeout), DiskCache::new(cache)))
}

/// Whether an item valid until `until` should be fetched again at `now`.
pub fn due(until: UnixTime, now: UnixTime) -> bool {
    now.saturating_add(REFRESH_AHEAD) >= until
}
