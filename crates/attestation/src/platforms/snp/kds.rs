//! VCEKs and AMD's certificate chains from an AMD KDS-compatible service (opt-in: the
//! policy's `kds_url`), kept on disk:
//!
//! * `{base}/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..` (the VCEK
//!   of one chip at one TCB, DER; Turin's hardware id is the chip id's first 8 bytes and its
//!   TCB adds `fmcSPL`);
//! * `{base}/{vcek|vlek}/v1/{product}/cert_chain` (ASK or ASVK, then ARK, PEM). A fetched
//!   ARK is never trusted for being fetched: it must be one of the policy's trusted ARKs.
//!
//! A cached certificate is used while valid; a fetched VCEK for another chip or TCB is
//! refused and not cached; an expired item with the service unreachable fails closed.

use super::certs::Cert;
use crate::fetch::{DiskCache, FetchError, Http};
use sc_protocol::{AttestationError, OtherError, UnixTime};
use sev::firmware::guest::AttestationReport;

/// An AMD KDS-compatible service and its cache.
#[derive(Debug, Clone)]
pub struct KdsService {
    base: String,
    http: Http,
    cache: DiskCache,
    product: Option<String>,
}

impl KdsService {
    /// A service at `base`, caching in `cache`; `product` (`Milan`, `Genoa`, `Turin`) when
    /// reports do not name their CPU (versions before 3).
    pub fn new(base: &str, http: Http, cache: DiskCache, product: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            cache,
            product,
        }
    }

    /// The product name of the report's CPU, from its CPUID family and model.
    pub(super) fn product_of(&self, report: &AttestationReport) -> Result<String, AttestationError> {
        if let Some(p) = &self.product {
            return Ok(p.clone());
        }
        match (report.cpuid_fam_id, report.cpuid_mod_id) {
            (Some(0x19), Some(0x00..=0x0f)) => Ok("Milan".into()),
            (Some(0x19), Some(0x10..=0x1f | 0xa0..=0xaf)) => Ok("Genoa".into()),
            (Some(0x1a), Some(_)) => Ok("Turin".into()),
            _ => Err(AttestationError::collateral(
                "the report does not name its CPU: set kds_product (Milan, Genoa or Turin) in the policy",
            )),
        }
    }

    /// The VCEK for `report`'s chip and reported TCB.
    pub(super) fn vcek(&self, report: &AttestationReport, now: UnixTime) -> Result<Cert, AttestationError> {
        let product = self.product_of(report)?;
        let t = &report.reported_tcb;
        let turin = product == "Turin";
        let hwid = hex::encode(if turin {
            &report.chip_id[..8]
        } else {
            &report.chip_id[..]
        });
        let mut query = format!(
            "blSPL={:02}&teeSPL={:02}&snpSPL={:02}&ucodeSPL={:02}",
            t.bootloader, t.tee, t.snp, t.microcode
        );
        if let (true, Some(fmc)) = (turin, t.fmc) {
            query = format!("fmcSPL={fmc:02}&{query}");
        }
        let url = format!("{}/vcek/v1/{product}/{hwid}?{query}", self.base);
        let key = format!(
            "{product}-{hwid}-{}-{}-{}-{}.der",
            t.bootloader, t.tee, t.snp, t.microcode
        );
        let fits = |c: &Cert| {
            c.hardware_id()
                .is_some_and(|h| h.starts_with(&report.chip_id[..hwid.len() / 2]))
        };
        self.certificate(&key, &url, now, "VCEK", |certs| {
            let vcek = certs.into_iter().next().filter(|c| fits(c)).ok_or_else(|| {
                AttestationError::collateral(format!("{url}: the certificate served is not this chip's VCEK"))
            })?;
            Ok(vec![vcek])
        })
        .map(|mut v| v.remove(0))
    }

    /// The intermediate and root certificates for `product` (`vlek`: the ASVK chain).
    pub(super) fn chain(&self, product: &str, vlek: bool, now: UnixTime) -> Result<Vec<Cert>, AttestationError> {
        let kind = if vlek { "vlek" } else { "vcek" };
        let url = format!("{}/{kind}/v1/{product}/cert_chain", self.base);
        self.certificate(
            &format!("{product}-{kind}-cert_chain.pem"),
            &url,
            now,
            "AMD certificate chain",
            Ok,
        )
    }

    /// Certificates from the cache while valid, else fetched (checked by `accept`) and
    /// cached; an expired cached copy with the service down fails closed.
    fn certificate(
        &self,
        key: &str,
        url: &str,
        now: UnixTime,
        item: &str,
        accept: impl Fn(Vec<Cert>) -> Result<Vec<Cert>, AttestationError>,
    ) -> Result<Vec<Cert>, AttestationError> {
        let cached = self.cache.load_file(key).and_then(|b| Cert::parse_all(&b).ok());
        if let Some(certs) = &cached {
            if certs.iter().all(|c| c.check_valid_at(now).is_ok()) {
                return Ok(certs.clone());
            }
        }
        let fetched = self.http.get(url);
        match fetched {
            Ok(response) => {
                let certs = accept(Cert::parse_all(&response.body)?)?;
                if let Err(e) = self.cache.store_file(key, &response.body) {
                    tracing::warn!(error = %e, "cannot cache a KDS certificate");
                }
                Ok(certs)
            }
            Err(e) => Err(match cached {
                Some(certs) => stale(item, &certs, now, e),
                None => AttestationError::collateral_by(format!("cannot fetch the {item} from {}", self.base), e),
            }),
        }
    }
}

fn stale(item: &str, certs: &[Cert], now: UnixTime, e: FetchError) -> AttestationError {
    let expired = certs.iter().filter_map(Cert::not_after).min().unwrap_or(now);
    AttestationError::StaleCollateral {
        item: item.into(),
        expired,
        at: now,
        cause: Some(OtherError::new(e)),
    }
}
