"""A stream session from Python: the enclave forwards to a backend (`serve --forward`),
and the client sends and receives whenever it likes, then half-closes."""

import socket
import threading

import pytest

import secure_channel as sc


def echo_backend():
    """A TCP service that greets, then echoes upper-cased until the client's end."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"hello\n")
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_stream_session_both_ways_and_the_half_close(own_server):
    backend = echo_backend()
    server = own_server(["--forward", "127.0.0.1:%d" % backend.getsockname()[1]])
    with sc.Client.connect(server.address, str(server.policy), streams=True) as client:
        assert client.recv() == b"hello\n"  # the backend spoke first
        client.send(b"abc")
        got = b""
        while got != b"ABC":
            got += client.recv()
        client.end_stream()  # the backend reads its end, and ends its own
        with pytest.raises(sc.StreamEnded):
            while True:
                client.recv()
    backend.close()
