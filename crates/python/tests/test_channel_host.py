"""The send-hook client (Channel) and the host relay (Host), both in this process, with
the real enclave program as the host's child process."""

import threading

import pytest

import secure_channel as sc


@pytest.fixture
def host(server, exe):
    # The same root key and executable as the module's server, so its policy fits.
    with sc.Host([str(exe), "enclave"], sim_root=str(server.root)) as h:
        yield h


def channel_through(host, policy, connection_id):
    """A Channel whose send hook relays through `host` and feeds the reply back."""
    holder = []

    def send(message):
        host.feed(connection_id, message, holder[0].feed)

    ch = sc.Channel(policy, send)
    holder.append(ch)
    return ch


def test_a_channel_relayed_by_a_python_host(host, server, exe):
    ch = channel_through(host, str(server.policy), 1)
    assert ch.session_id is None and ch.claims is None
    ch.open()
    assert ch.claims.measurement == sc.measure(str(exe))
    assert host.connections == 1
    replies = []
    host.feed(1, ch.encrypt(b"3,4,5"), replies.append)
    assert [ch.decrypt(r) for r in replies] == [b"count=3 mean=4.00 max=5.00"]
    # An explicit call to the enclave's function 1 with the client's record.
    answer = host.call(1, ch.session_id, ch.encrypt(b"7"))
    assert ch.decrypt(answer) == b"count=1 mean=7.00 max=7.00"
    ch.close()  # the Close goes through the host: the connection is over
    assert host.connections == 0
    with pytest.raises(sc.SecureChannelError):
        ch.encrypt(b"1")


def test_the_host_is_thread_safe(host, server):
    errors = []

    def one(n):
        try:
            ch = channel_through(host, str(server.policy), 100 + n)
            ch.open()
            for k in range(5):
                out = []
                host.feed(100 + n, ch.encrypt(f"{n},{k}".encode()), out.append)
                assert ch.decrypt(out[0]) == f"count=2 mean={(n + k) / 2:.2f} max={max(n, k):.2f}".encode()
            ch.close()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_handle_routes_by_session_without_connection_ids(host, server):
    holder = []

    def send(message):
        reply = host.handle(message)
        if reply is not None:
            holder[0].feed(reply)

    ch = sc.Channel(str(server.policy), send)
    holder.append(ch)
    ch.open()
    reply = host.handle(ch.encrypt(b"9,1"))
    assert ch.decrypt(reply) == b"count=2 mean=5.00 max=9.00"


def test_what_the_send_callable_raises_comes_back_from_open(server):
    def send(message):
        raise OSError("the network is down")

    ch = sc.Channel(str(server.policy), send)
    with pytest.raises(OSError, match="the network is down"):
        ch.open()


def test_a_garbage_message_is_a_protocol_error_and_the_connection_is_forgotten(host):
    with pytest.raises(sc.ProtocolError):
        host.feed(7, b"\x01\x01\x00\x00\x00\x05hello-not-a-hello", lambda r: None)
    assert host.connections == 0


def test_message_length_frames_a_stream():
    header = bytes([0x10, 0x01, 0x00, 0x00, 0x00, 0x20])
    assert sc.message_length(header) == 6 + 0x20
    with pytest.raises(sc.ProtocolError):
        sc.message_length(bytes([0x10, 0x09, 0, 0, 0, 1]))  # another wire version
    with pytest.raises(ValueError):
        sc.message_length(b"\x10\x01")


def test_the_host_restarts_an_enclave_that_died(host, server):
    import os
    import signal
    import time

    first = host.enclave_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and host.enclave_pid in (first, None):
        time.sleep(0.1)
    assert host.enclave_pid not in (first, None), "the enclave was not restarted"
    # A new session works on the new enclave (a few tries while it starts and attests).
    while True:
        try:
            ch = channel_through(host, str(server.policy), 500)
            ch.open()
            break
        except sc.SecureChannelError:
            host.disconnect(500)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    out = []
    host.feed(500, ch.encrypt(b"2,2"), out.append)
    assert ch.decrypt(out[0]) == b"count=2 mean=2.00 max=2.00"


def test_host_limits_apply(server, exe):
    with sc.Host([str(exe), "enclave"], sim_root=str(server.root), max_sessions=1) as small:
        first = channel_through(small, str(server.policy), 1)
        first.open()
        second = channel_through(small, str(server.policy), 2)
        with pytest.raises(sc.ServerBusy):
            second.open()
        first.close()
    with pytest.raises(ValueError):
        sc.Host([str(exe), "enclave"], sim_root=str(server.root), max_sessions=0)
    with pytest.raises(ValueError):
        sc.Host([str(exe), "enclave"], sim_root=str(server.root), idle_timeout=-1)
