"""Bad arguments raise TypeError or ValueError (or the package's ValueError subclasses),
never crash the interpreter."""

import pytest

import secure_channel as sc

from conftest import UNRELATED_POLICY as POLICY


def test_client_arguments():
    policy = sc.Policy.from_toml(POLICY)
    with pytest.raises(TypeError):
        sc.Client.connect(1234, policy)
    with pytest.raises(ValueError):
        sc.Client.connect("no-port-here", policy)
    with pytest.raises(ValueError):
        sc.Client.connect("127.0.0.1:99999", policy)
    with pytest.raises(ValueError):
        sc.Client.connect("127.0.0.1:1", policy, timeout=-1)
    with pytest.raises(ValueError):
        sc.Client.connect("127.0.0.1:1", policy, timeout=float("nan"))
    with pytest.raises(TypeError):
        sc.Client.connect("127.0.0.1:1", 42)


def test_policy_errors_are_value_errors(tmp_path):
    with pytest.raises(sc.PolicyError) as caught:
        sc.Policy.from_file(str(tmp_path / "missing.toml"))
    assert isinstance(caught.value, ValueError)
    assert "missing.toml" in str(caught.value)
    with pytest.raises(sc.PolicyError, match="line 1"):
        sc.Policy.from_toml("allow_simulatd = true")
    with pytest.raises(sc.PolicyError):
        sc.Policy.from_toml("")  # accepts nothing
    with pytest.raises(TypeError):
        sc.Policy.from_toml(b"bytes are not text")


def test_evidence_arguments():
    policy = sc.Policy.from_toml(POLICY)
    with pytest.raises(ValueError):
        sc.verify_evidence(b"", policy)
    with pytest.raises(ValueError):
        sc.verify_evidence(b"\x00" * 100, policy, report_data=b"short")
    with pytest.raises(ValueError):
        sc.verify_evidence(b"\x00" * 100, policy)  # no platform recognisable
    with pytest.raises(TypeError):
        sc.verify_evidence("text", policy)
    with pytest.raises(TypeError):
        sc.verify_evidence(b"\x00" * 100, policy, collateral=12)
    with pytest.raises(TypeError):
        sc.verify_evidence(b"\x00" * 100, policy, at="yesterday")
    with pytest.raises(ValueError):
        sc.measure("/nonexistent/program")


def test_channel_and_host_arguments(tmp_path):
    with pytest.raises(TypeError):
        sc.Channel(None, lambda m: None)
    with pytest.raises(TypeError):
        sc.Channel(sc.Policy.from_toml(POLICY), "not callable")
    with pytest.raises(ValueError):
        sc.Host([])
    with pytest.raises(TypeError):
        sc.Host(12)
    with pytest.raises(sc.SecureChannelError):
        sc.Host(str(tmp_path / "no-such-enclave"))
