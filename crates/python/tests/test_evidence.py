"""verify_evidence and measure with the repository's real evidence (captured on AMD
SEV-SNP and Intel TDX hardware; each set's SOURCE.md says where from and what verdict to
expect) and with simulated evidence from the real executable."""

import datetime
import subprocess

import pytest

import secure_channel as sc
from conftest import EVIDENCE

SNP = EVIDENCE / "amd-snp-virtee-milan"
SNP_MEASUREMENT = "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
DCAP = EVIDENCE / "intel-dcap-phala"
TDX_POLICY = (
    "[tdx]\nallow_unpinned_workload = true\n"
    'mrtds = ["91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"]\n'
)


def test_real_tdx_quote_is_accepted_with_its_collateral_and_refused_once_it_expired():
    quote = (DCAP / "tdx_quote").read_bytes()
    collateral = str(DCAP / "tdx_quote_collateral.json")
    policy = sc.Policy.from_toml(TDX_POLICY)
    claims = sc.verify_evidence(quote, policy, collateral=collateral, at=1751328000)
    assert claims.platform == "Intel TDX (DCAP quote)"
    assert claims.tcb_status == "UpToDate"
    assert claims.simulated is False
    assert claims.measurement.startswith("91eb2b44")
    assert "rtmr0" in claims.extra
    late = datetime.datetime(2025, 7, 20, tzinfo=datetime.timezone.utc)
    with pytest.raises(sc.AttestationRejected) as caught:
        sc.verify_evidence(quote, policy, collateral=[collateral], at=late)
    assert "PCK CRL expired at 2025-07-19T10:00:35Z" in caught.value.reason
    assert caught.value.claims is not None and caught.value.claims.measurement.startswith("91eb2b44")


def test_real_snp_report_with_another_measurement_shows_the_presented_one():
    report = (SNP / "report_milan.hex").read_bytes()  # hex text, as captured
    vcek = (SNP / "vcek_milan.der").read_bytes()
    policy = sc.Policy.from_toml('[sev_snp]\nmeasurements = ["%s"]\n' % ("ab" * 48))
    with pytest.raises(sc.AttestationRejected) as caught:
        sc.verify_evidence(report, policy, collateral=vcek, at=1749945600)
    e = caught.value
    assert f"measurement is not in the policy: presented {SNP_MEASUREMENT}" in e.reason
    assert e.claims.measurement == SNP_MEASUREMENT
    assert e.claims.platform == "AMD SEV-SNP report"


def test_a_tampered_report_is_refused(tmp_path):
    report = bytearray(bytes.fromhex((SNP / "report_milan.hex").read_text().strip().removeprefix("0x")))
    report[0x90] ^= 1  # inside the measurement: the signature no longer holds
    policy = sc.Policy.from_toml('[sev_snp]\nmeasurements = ["%s"]\n' % SNP_MEASUREMENT)
    with pytest.raises(sc.AttestationRejected) as caught:
        sc.verify_evidence(bytes(report), policy, collateral=str(SNP / "vcek_milan.der"), at=1749945600)
    assert "signature" in caught.value.reason


def test_simulated_evidence_from_the_real_executable(tmp_path, exe):
    root = tmp_path / "root.key"
    out = subprocess.run([str(exe), "sim-root", "create", "--out", str(root)], check=True, capture_output=True, text=True)
    public = out.stdout.split('root_public_key = "')[1].split('"')[0]
    evidence = tmp_path / "ev.bin"
    subprocess.run(
        [str(exe), "sim-attest", "--root", str(root), "--exe", str(exe), "--out", str(evidence)],
        check=True,
        capture_output=True,
    )
    measurement = sc.measure(str(exe))
    good = sc.Policy.from_toml(
        'allow_simulated = true\n[simulated]\nroot_public_key = "%s"\nmeasurements = ["%s"]\n' % (public, measurement)
    )
    claims = sc.verify_evidence(evidence.read_bytes(), good)
    assert claims.simulated and claims.measurement == measurement
    with pytest.raises(sc.AttestationRejected) as caught:
        sc.verify_evidence(evidence.read_bytes(), good, report_data=b"\x01" * 64)
    assert "report data" in caught.value.reason
    strict = sc.Policy.from_toml('[simulated]\nroot_public_key = "%s"\nmeasurements = ["%s"]\n' % (public, measurement))
    with pytest.raises(sc.AttestationRejected) as caught:
        sc.verify_evidence(evidence.read_bytes(), strict)
    assert "simulated evidence refused" in caught.value.reason
