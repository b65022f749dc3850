//! Azure confidential VMs: evidence from the guest's virtual TPM. The paravisor keeps the
//! HCL report (its hardware report and the variable data naming the vTPM attestation key)
//! in NV index 0x01400001; the attestation key is persistent at 0x81000003. The attester
//! reads the report, has the TPM quote all 24 SHA-256 PCRs with the channel's report data
//! as the nonce, reads the PCR values, and writes the evidence JSON the verifier reads
//! (`platforms::azure`).
//!
//! It speaks TPM 2.0 commands itself over a [`TpmTransport`] (the kernel's resource
//! manager `/dev/tpmrm0`, or a TPM simulator's TCP data channel), so that no C TPM stack is
//! needed. SEV-SNP evidence carries the VCEK when one is configured (Azure serves it from
//! its instance metadata; fetching it is left to the deployment). TDX evidence needs the
//! TD quote, which Azure's instance metadata service makes from the TD report: this
//! attester takes it from a [`TdQuoteSource`].

use crate::platforms::azure::AzureEvidence;
use crate::tpm_wire::{Reader, Writer, pcr_selection};
use sc_protocol::{Attester, AttesterError, PlatformId};
use std::io::{Read, Write};
use std::sync::Mutex;

/// NV index of the HCL report.
pub const HCL_REPORT_INDEX: u32 = 0x0140_0001;
/// Persistent handle of the vTPM attestation key.
pub const AK_HANDLE: u32 = 0x8100_0003;

const TPM_ST_NO_SESSIONS: u16 = 0x8001;
const TPM_ST_SESSIONS: u16 = 0x8002;
const TPM_RH_OWNER: u32 = 0x4000_0001;
const TPM_RS_PW: u32 = 0x4000_0009;
const TPM_ALG_NULL: u16 = 0x0010;
const CC_NV_READ: u32 = 0x0000_014e;
const CC_QUOTE: u32 = 0x0000_0158;
const CC_NV_READ_PUBLIC: u32 = 0x0000_0169;
const CC_READ_PUBLIC: u32 = 0x0000_0173;
const CC_PCR_READ: u32 = 0x0000_017e;
/// Bytes read from an NV index per command (every TPM allows at least this).
const NV_CHUNK: u16 = 512;
/// Largest response accepted.
const MAX_RESPONSE: usize = 8192;
/// Times the PCRs are read again when they changed between the quote and the read.
const PCR_RETRIES: usize = 3;

/// Carries TPM commands and their responses.
pub trait TpmTransport: Send {
    /// Sends one command, returns its whole response.
    fn transact(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>>;
}

/// A TPM character device (`/dev/tpmrm0`): one write per command, one read per response.
#[derive(Debug)]
pub struct TpmDevice(std::fs::File);

impl TpmDevice {
    /// Opens the device at `path`.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        std::fs::OpenOptions::new().read(true).write(true).open(path).map(Self)
    }
}

impl TpmTransport for TpmDevice {
    fn transact(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>> {
        self.0.write_all(command)?;
        let mut buf = vec![0u8; MAX_RESPONSE];
        let n = self.0.read(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// A TPM reached over a byte stream that carries raw commands and responses (the data
/// channel of the `swtpm` simulator): responses are framed by their header's size.
#[derive(Debug)]
pub struct TpmStream<S>(pub S);

impl<S: Read + Write + Send> TpmTransport for TpmStream<S> {
    fn transact(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>> {
        self.0.write_all(command)?;
        let mut header = [0u8; 10];
        self.0.read_exact(&mut header)?;
        let size = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
        if !(10..=MAX_RESPONSE).contains(&size) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "TPM response size",
            ));
        }
        let mut out = header.to_vec();
        out.resize(size, 0);
        self.0.read_exact(&mut out[10..])?;
        Ok(out)
    }
}

/// Makes the TD quote of a TD report (on Azure: the instance metadata service).
pub type TdQuoteSource = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, AttesterError> + Send + Sync>;

/// The Azure vTPM attester.
pub struct AzureVtpmAttester {
    tpm: Mutex<Box<dyn TpmTransport>>,
    platform: PlatformId,
    vcek: Option<Vec<u8>>,
    td_quote: Option<TdQuoteSource>,
}

impl std::fmt::Debug for AzureVtpmAttester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureVtpmAttester")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

fn failed(what: &'static str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> AttesterError {
    AttesterError::with_cause(what, e)
}

/// A TPM response code other than success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("TPM response code 0x{0:08x}")]
pub struct TpmResponseCode(pub u32);

/// A command with its header (tag, size, code) around `body`.
fn command(tag: u16, code: u32, body: &Writer) -> Vec<u8> {
    let size = u32::try_from(10 + body.0.len()).unwrap_or(u32::MAX);
    let mut w = Writer::default();
    w.u16(tag).u32(size).u32(code).bytes(&body.0);
    w.0
}

/// The password session with an empty password, as a command's authorization area.
fn password_session(w: &mut Writer) {
    w.u32(9).u32(TPM_RS_PW).u16(0).u8(0).u16(0);
}

impl AzureVtpmAttester {
    /// An attester for `platform` ([`PlatformId::AZURE_SNP_VTPM`] or
    /// [`PlatformId::AZURE_TDX_VTPM`]) over `tpm`.
    pub fn new(tpm: Box<dyn TpmTransport>, platform: PlatformId) -> Self {
        Self {
            tpm: Mutex::new(tpm),
            platform,
            vcek: None,
            td_quote: None,
        }
    }

    /// SEV-SNP: the VCEK (DER or PEM) to carry in the evidence.
    pub fn with_vcek(mut self, vcek: Vec<u8>) -> Self {
        self.vcek = Some(vcek);
        self
    }

    /// TDX: where TD quotes come from.
    pub fn with_td_quote_source(mut self, source: TdQuoteSource) -> Self {
        self.td_quote = Some(source);
        self
    }

    /// Runs one command; the response's parameters (after the header, and after the
    /// parameter size when the command had sessions).
    fn run(&self, tpm: &mut dyn TpmTransport, cmd: &[u8], what: &'static str) -> Result<Vec<u8>, AttesterError> {
        let response = tpm.transact(cmd).map_err(|e| failed(what, e))?;
        let mut r = Reader::new(&response);
        let header = (|| Ok::<_, crate::tpm_wire::Truncated>((r.u16()?, r.u32()?, r.u32()?)))();
        let (tag, _size, rc) = header.map_err(|e| failed(what, e))?;
        if rc != 0 {
            return Err(failed(what, TpmResponseCode(rc)));
        }
        if tag == TPM_ST_SESSIONS {
            let n = r.u32().map_err(|e| failed(what, e))? as usize;
            return Ok(r.take(n).map_err(|e| failed(what, e))?.to_vec());
        }
        Ok(r.rest().to_vec())
    }

    /// The HCL report from NV index [`HCL_REPORT_INDEX`].
    pub fn hcl_report(&self) -> Result<Vec<u8>, AttesterError> {
        let mut tpm = self.tpm.lock().map_err(|_| AttesterError::new("vTPM: lock poisoned"))?;
        let mut body = Writer::default();
        body.u32(HCL_REPORT_INDEX);
        let public = self.run(
            &mut **tpm,
            &command(TPM_ST_NO_SESSIONS, CC_NV_READ_PUBLIC, &body),
            "vTPM: cannot read the HCL report's NV index",
        )?;
        // TPM2B_NV_PUBLIC: size, index u32, name alg u16, attributes u32, auth policy, data size.
        let size = (|| {
            let mut r = Reader::new(&public);
            r.u16()?;
            r.u32()?;
            r.u16()?;
            r.u32()?;
            r.sized()?;
            r.u16()
        })()
        .map_err(|e| failed("vTPM: NV public area", e))?;
        let mut out = Vec::with_capacity(usize::from(size));
        while out.len() < usize::from(size) {
            let offset = u16::try_from(out.len()).unwrap_or(u16::MAX);
            let chunk = NV_CHUNK.min(size - offset);
            let mut body = Writer::default();
            body.u32(TPM_RH_OWNER).u32(HCL_REPORT_INDEX);
            password_session(&mut body);
            body.u16(chunk).u16(offset);
            let params = self.run(
                &mut **tpm,
                &command(TPM_ST_SESSIONS, CC_NV_READ, &body),
                "vTPM: cannot read the HCL report",
            )?;
            let data = Reader::new(&params)
                .sized()
                .map_err(|e| failed("vTPM: NV read response", e))?;
            if data.is_empty() {
                return Err(AttesterError::new("vTPM: NV read returned no data"));
            }
            out.extend_from_slice(data);
        }
        Ok(out)
    }

    /// The attestation key's RSA modulus and exponent.
    pub fn ak_public(&self) -> Result<(Vec<u8>, u32), AttesterError> {
        let mut tpm = self.tpm.lock().map_err(|_| AttesterError::new("vTPM: lock poisoned"))?;
        let mut body = Writer::default();
        body.u32(AK_HANDLE);
        let params = self.run(
            &mut **tpm,
            &command(TPM_ST_NO_SESSIONS, CC_READ_PUBLIC, &body),
            "vTPM: cannot read the attestation key",
        )?;
        // TPM2B_PUBLIC: size, type, name alg, attributes, auth policy, RSA parameters
        // (symmetric, scheme [+ hash], key bits, exponent), unique (the modulus).
        (|| {
            let mut r = Reader::new(&params);
            r.u16()?;
            let kind = r.u16()?;
            r.u16()?;
            r.u32()?;
            r.sized()?;
            if r.u16()? != TPM_ALG_NULL {
                r.take(4)?; // symmetric key bits and mode
            }
            if r.u16()? != TPM_ALG_NULL {
                r.u16()?; // scheme hash
            }
            r.u16()?;
            let exponent = match r.u32()? {
                0 => 65_537,
                e => e,
            };
            Ok::<_, crate::tpm_wire::Truncated>((kind, r.sized()?.to_vec(), exponent))
        })()
        .map_err(|e| failed("vTPM: attestation key public area", e))
        .and_then(|(kind, n, e)| match kind {
            0x0001 => Ok((n, e)),
            _ => Err(AttesterError::new("vTPM: the attestation key is not RSA")),
        })
    }

    /// A quote of all SHA-256 PCRs over `nonce`: the `TPMS_ATTEST` and its signature.
    fn quote(&self, tpm: &mut dyn TpmTransport, nonce: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AttesterError> {
        let mut body = Writer::default();
        body.u32(AK_HANDLE);
        password_session(&mut body);
        body.sized(nonce).u16(TPM_ALG_NULL);
        pcr_selection(&mut body, 0..24);
        let params = self.run(tpm, &command(TPM_ST_SESSIONS, CC_QUOTE, &body), "vTPM: quote failed")?;
        (|| {
            let mut r = Reader::new(&params);
            let message = r.sized()?.to_vec();
            r.u16()?; // signature algorithm (RSASSA)
            r.u16()?; // hash
            Ok::<_, crate::tpm_wire::Truncated>((message, r.sized()?.to_vec()))
        })()
        .map_err(|e| failed("vTPM: quote response", e))
    }

    /// The 24 SHA-256 PCR values (read 8 at a time, as TPMs return at most 8 digests).
    fn pcrs(&self, tpm: &mut dyn TpmTransport) -> Result<Vec<Vec<u8>>, AttesterError> {
        let mut out = Vec::with_capacity(24);
        for first in (0..24).step_by(8) {
            let mut body = Writer::default();
            pcr_selection(&mut body, first..first + 8);
            let params = self.run(
                tpm,
                &command(TPM_ST_NO_SESSIONS, CC_PCR_READ, &body),
                "vTPM: PCR read failed",
            )?;
            let digests = (|| {
                let mut r = Reader::new(&params);
                r.u32()?; // update counter
                r.u32()?;
                r.u16()?;
                let n = usize::from(r.u8()?);
                r.take(n)?; // the selection read
                let count = r.u32()?;
                (0..count)
                    .map(|_| r.sized().map(<[u8]>::to_vec))
                    .collect::<Result<Vec<_>, _>>()
            })()
            .map_err(|e| failed("vTPM: PCR read response", e))?;
            if digests.len() != 8 {
                return Err(AttesterError::new("vTPM: PCR read returned another number of values"));
            }
            out.extend(digests);
        }
        Ok(out)
    }
}

impl Attester for AzureVtpmAttester {
    fn platform(&self) -> PlatformId {
        self.platform
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, AttesterError> {
        let hcl_report = self.hcl_report()?;
        let td_quote = match self.platform {
            PlatformId::AZURE_TDX_VTPM => {
                let source = self
                    .td_quote
                    .as_ref()
                    .ok_or(AttesterError::new("Azure TDX: no TD quote source configured"))?;
                let td_report = hcl_report
                    .get(32..32 + 1024)
                    .ok_or(AttesterError::new("Azure TDX: HCL report too short"))?;
                Some(source(td_report)?)
            }
            _ => None,
        };
        let mut tpm = self.tpm.lock().map_err(|_| AttesterError::new("vTPM: lock poisoned"))?;
        for _ in 0..PCR_RETRIES {
            let (message, signature) = self.quote(&mut **tpm, report_data)?;
            let pcrs = self.pcrs(&mut **tpm)?;
            // The PCRs may move between the quote and the read: keep a consistent pair.
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            pcrs.iter().for_each(|p| ctx.update(p));
            if message.ends_with(ctx.finish().as_ref()) {
                let evidence = AzureEvidence {
                    hcl_report,
                    quote_message: message,
                    quote_signature: signature,
                    pcrs,
                    vcek: self.vcek.clone(),
                    td_quote,
                };
                return Ok(evidence.to_json());
            }
        }
        Err(AttesterError::new("vTPM: the PCRs kept changing while quoting"))
    }
}
