"""The Python client behind a hostile relay in front of a real `secure-channel serve`: the
relay swaps, drops or duplicates the enclave's records. The client raises a typed error and
never hands one request's answer to another (the issue this guards against: a client that
pipelined `1,2,3` and `100,200` got `count=2 mean=150.00` as the answer to `1,2,3`)."""

import signal
import socket
import struct
import threading

import pytest

import secure_channel as sc


def _read_frame(sock: socket.socket):
    head = b""
    while len(head) < 6:
        chunk = sock.recv(6 - len(head))
        if not chunk:
            return None
        head += chunk
    (length,) = struct.unpack(">I", head[2:6])
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return head + body


def _pump(src: socket.socket, dst: socket.socket, edit) -> None:
    """Relays frames; `edit(index, frame)` returns the frames to send for the index-th
    record (data, Close, SessionAck, EndOfStream) of this direction."""
    index = 0
    try:
        while True:
            frame = _read_frame(src)
            if frame is None:
                break
            if 0x10 <= frame[0] <= 0x13:
                out = edit(index, frame)
                index += 1
            else:
                out = [frame]
            for f in out:
                dst.sendall(f)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def relay(target: str, edit_down):
    """A relay to `target` that applies `edit_down` to the enclave-to-client records."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    host, port = target.rsplit(":", 1)

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection((host, int(port)))
            threading.Thread(target=_pump, args=(client, server, lambda i, f: [f]), daemon=True).start()
            threading.Thread(target=_pump, args=(server, client, edit_down), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return "127.0.0.1:%d" % listener.getsockname()[1], listener


def swap_first_two():
    held = []

    def edit(i, frame):
        if i == 0:
            held.append(frame)
            return []
        if i == 1:
            return [frame, held.pop()]
        return [frame]

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(swap_first_two(), id="swap"),
        pytest.param(lambda i, f: [] if i == 0 else [f], id="drop"),
        pytest.param(lambda i, f: [f, f] if i == 0 else [f], id="duplicate"),
    ],
)
def test_edited_replies_raise_and_never_answer_the_wrong_request(server, edit):
    address, listener = relay(server.address, edit)
    try:
        with sc.Client.connect(address, str(server.policy), timeout=10) as client:
            client.send(b"1,2,3")
            client.send(b"100,200")
            got = []
            with pytest.raises(sc.ProtocolError) as raised:
                for _ in range(3):
                    got.append(client.recv())
            assert "out of sequence" in str(raised.value)
            # Whatever came is the true answers' prefix, in order.
            truth = [b"count=3 mean=2.00 max=3.00", b"count=2 mean=150.00 max=200.00"]
            assert got == truth[: len(got)]
    finally:
        listener.close()


def test_session_closed_says_how_many_records_arrived(own_server):
    # A drained server ends the session with its Close, counting the one request it got.
    server = own_server()
    with sc.Client.connect(server.address, str(server.policy), timeout=10) as client:
        assert client.request(b"1") == b"count=1 mean=1.00 max=1.00"
        server.process.send_signal(signal.SIGTERM)
        with pytest.raises(sc.SessionClosed) as raised:
            client.recv()
        assert raised.value.received == 1
        assert raised.value.reason == "shutdown"
