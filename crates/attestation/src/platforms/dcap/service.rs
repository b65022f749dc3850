//! DCAP collateral from an Intel PCS- or PCCS-compatible service (opt-in: the policy's
//! `collateral_service`), kept on disk per (TEE, FMSPC, PCK CA):
//!
//! * used offline while valid, fetched again from [`crate::fetch::REFRESH_AHEAD`] before
//!   its first item expires;
//! * when a refresh fails, the cached set is used while it is still valid; once expired,
//!   verification fails closed ([`AttestationError::StaleCollateral`], naming the item);
//! * fetched collateral that is not for the quote (another FMSPC, CA or TEE) is refused
//!   and never cached.
//!
//! URLs (PCS API v4): `{base}/{sgx|tdx}/certification/v4/tcb?fmspc=..`,
//! `{base}/{sgx|tdx}/certification/v4/qe/identity`,
//! `{base}/sgx/certification/v4/pckcrl?ca={processor|platform}&encoding=der`,
//! `{base}/sgx/certification/v4/rootcacrl`. Responses are cached with their issuer-chain
//! headers, in the form `collateral::from_files` reads.

use super::collateral::{self, Collateral};
use super::fit::QuoteNeeds;
use crate::fetch::{DiskCache, FetchError, Http, Response, due};
use sc_protocol::{AttestationError, OtherError, UnixTime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A collateral service and its cache.
#[derive(Debug, Clone)]
pub struct DcapService {
    base: String,
    http: Http,
    cache: DiskCache,
    /// The sets in use, parsed, by cache key: verification reads neither the disk nor the
    /// CRLs and chains again while a set is fresh.
    parsed: Arc<Mutex<HashMap<String, Arc<Collateral>>>>,
}

impl DcapService {
    /// A service at `base` (no trailing slash needed), caching in `cache`.
    pub fn new(base: &str, http: Http, cache: DiskCache) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            cache,
            parsed: Arc::default(),
        }
    }

    /// The service's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The collateral `needs` calls for, at `now`.
    pub(super) fn collateral(&self, needs: &QuoteNeeds, now: UnixTime) -> Result<Arc<Collateral>, AttestationError> {
        let key = format!("{}-{}-{}", needs.tee_path(), needs.fmspc_hex(), needs.ca_path());
        let fresh = |c: &Collateral| c.valid_until().is_some_and(|(until, _)| !due(until, now));
        let memo = self.parsed.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
        if let Some(c) = memo.filter(|c| fresh(c)) {
            return Ok(c);
        }
        let result = self.load_or_fetch(&key, needs, now).map(Arc::new);
        if let Ok(c) = &result {
            self.parsed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, c.clone());
        }
        result
    }

    /// The set from the disk cache while fresh, else fetched (see the module's rules).
    fn load_or_fetch(&self, key: &str, needs: &QuoteNeeds, now: UnixTime) -> Result<Collateral, AttestationError> {
        let cached = collateral::from_dir(&self.cache.path(key))
            .ok()
            .and_then(|mut sets| (sets.len() == 1).then(|| sets.remove(0)));
        let until = cached.as_ref().and_then(Collateral::valid_until);
        if let (Some(c), Some((until, _))) = (&cached, until) {
            if !due(until, now) {
                return Ok(c.clone());
            }
        }
        match self.fetch(needs) {
            Ok(files) => {
                let fetched = collateral::from_files(&files)?.into_iter().next().ok_or_else(|| {
                    AttestationError::collateral(format!("{}: no collateral in the responses", self.base))
                })?;
                // Another FMSPC's (or CA's, or TEE's) data is refused, and not cached.
                needs.check_fits(&fetched)?;
                if let Err(e) = self.cache.store_dir(key, &files) {
                    tracing::warn!(error = %e, "cannot cache DCAP collateral");
                }
                Ok(fetched)
            }
            Err(e) => match (cached, until) {
                (Some(c), Some((until, _))) if now <= until => {
                    tracing::warn!(error = %sc_protocol::ErrorChain(&e), "collateral refresh failed; the cached copy is still valid");
                    Ok(c)
                }
                (Some(_), Some((expired, item))) => Err(AttestationError::StaleCollateral {
                    item: item.into(),
                    expired,
                    at: now,
                    cause: Some(OtherError::new(e)),
                }),
                _ => Err(AttestationError::collateral_by(
                    format!("cannot fetch collateral from {}", self.base),
                    e,
                )),
            },
        }
    }

    /// Fetches the four responses, each as a file with its issuer-chain header.
    fn fetch(&self, needs: &QuoteNeeds) -> Result<Vec<(String, Vec<u8>)>, FetchError> {
        let (tee, base) = (needs.tee_path(), &self.base);
        let requests = [
            (
                "tcb_info",
                format!("{base}/{tee}/certification/v4/tcb?fmspc={}", needs.fmspc_hex()),
            ),
            ("qe_identity", format!("{base}/{tee}/certification/v4/qe/identity")),
            (
                "pck_crl",
                format!("{base}/sgx/certification/v4/pckcrl?ca={}&encoding=der", needs.ca_path()),
            ),
            ("root_ca_crl", format!("{base}/sgx/certification/v4/rootcacrl")),
        ];
        requests
            .into_iter()
            .map(|(name, url)| Ok((name.to_owned(), saved(&self.http.get(&url)?))))
            .collect()
    }
}

/// A response as a file `collateral::from_files` reads: status line, the issuer-chain
/// header (still URL-encoded, as sent), blank line, body.
fn saved(response: &Response) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\n".to_vec();
    for (name, value) in &response.headers {
        if name.to_ascii_lowercase().ends_with("issuer-chain") {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&response.body);
    out
}
