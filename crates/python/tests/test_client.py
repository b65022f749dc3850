"""The blocking client against a real `secure-channel serve` on loopback."""

import socket
import threading
import time

import pytest

import secure_channel as sc
from conftest import UNRELATED_POLICY, blocked_reader, wrong_measurement_policy


def test_connect_attest_and_request(server, exe):
    policy = sc.Policy.from_file(str(server.policy))
    with sc.Client.connect(server.address, policy, timeout=10) as client:
        claims = client.claims
        assert claims.simulated is True
        assert claims.platform == "simulated TEE (SIMULATED)"
        # The demo enclave is the executable itself: its measurement is the file's hash.
        assert claims.measurement == sc.measure(str(exe))
        assert len(claims.report_data) == 64
        assert client.session_id > 0
        assert client.request(b"1,2,3,10") == b"count=4 mean=4.00 max=10.00"
        assert client.request(bytearray(b"5")) == b"count=1 mean=5.00 max=5.00"
    assert client.closed
    with pytest.raises(sc.ConnectionClosed):
        client.request(b"1")


def test_policy_by_path_and_address_as_a_tuple(server):
    host, port = server.address.rsplit(":", 1)
    with sc.Client.connect((host, int(port)), str(server.policy)) as client:
        assert client.request(b"2,4") == b"count=2 mean=3.00 max=4.00"


def test_pipelined_requests_come_back_in_order(server):
    with sc.Client.connect(server.address, str(server.policy)) as client:
        for i in range(1, 21):
            client.send(f"{i},{i}".encode())
        replies = [client.recv() for _ in range(20)]
    assert replies == [f"count=2 mean={i}.00 max={i}.00".encode() for i in range(1, 21)]


def test_requests_from_many_threads_share_one_client(server):
    errors = []
    with sc.Client.connect(server.address, str(server.policy)) as client:

        def work(n):
            try:
                for _ in range(10):
                    assert client.request(f"{n}".encode()) == f"count=1 mean={n}.00 max={n}.00".encode()
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_a_wrong_measurement_is_rejected_with_the_reason_and_the_claims(server, exe):
    actual = sc.measure(str(exe))
    wrong = wrong_measurement_policy(server, exe)
    with pytest.raises(sc.AttestationRejected) as caught:
        sc.Client.connect(server.address, sc.Policy.from_toml(wrong))
    e = caught.value
    assert "measurement is not in the policy" in e.reason
    assert actual in e.reason
    assert e.claims is not None and e.claims.measurement == actual
    assert isinstance(e, sc.SecureChannelError)


def test_a_server_stopped_mid_request_raises_a_typed_error(own_server):
    server = own_server()
    client = sc.Client.connect(server.address, str(server.policy))
    assert client.request(b"1") == b"count=1 mean=1.00 max=1.00"
    reader, got = blocked_reader(client)
    server.stop()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert len(got) == 1 and isinstance(got[0], sc.ConnectionClosed), got
    with pytest.raises(sc.ConnectionClosed):
        client.request(b"2")
    client.close()


def test_close_wakes_a_blocked_reader(server):
    client = sc.Client.connect(server.address, str(server.policy))
    reader, got = blocked_reader(client)
    client.close()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert len(got) == 1 and isinstance(got[0], sc.ConnectionClosed), got


def test_a_server_that_never_answers_times_out(silent_address):
    started = time.monotonic()
    with pytest.raises(sc.HandshakeTimeout) as caught:
        sc.Client.connect(silent_address, sc.Policy.from_toml(UNRELATED_POLICY), timeout=0.5)
    assert isinstance(caught.value, TimeoutError)
    # One deadline for the whole handshake (it used to restart after the hello: 1.0 s).
    assert time.monotonic() - started < 1.0


def test_nothing_listening_is_a_connection_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(sc.ConnectionClosed) as caught:
        sc.Client.connect(f"127.0.0.1:{port}", sc.Policy.from_toml(UNRELATED_POLICY), timeout=2)
    assert isinstance(caught.value, ConnectionError)


def test_a_full_server_says_busy(own_server):
    server = own_server(["--max-sessions", "1"])
    first = sc.Client.connect(server.address, str(server.policy))
    # A round trip, so that the host has taken the first session's Finished.
    assert first.request(b"1") == b"count=1 mean=1.00 max=1.00"
    with pytest.raises(sc.ServerBusy):
        sc.Client.connect(server.address, str(server.policy))
    first.close()
