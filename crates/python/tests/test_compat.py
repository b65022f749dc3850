"""secure_channel.compat: the original secGear Python functions, by name and argument
order: the client against a real server over TCP, and the client and server functions
wired together in one process."""

import socket

import pytest

import secure_channel as sc
from conftest import wrong_measurement_policy
from secure_channel.compat import client as cc
from secure_channel.compat import server as cs


def read_message(sock):
    header = b""
    while len(header) < sc.MESSAGE_HEADER_LEN:
        chunk = sock.recv(sc.MESSAGE_HEADER_LEN - len(header))
        if not chunk:
            return None
        header += chunk
    body = b""
    need = sc.message_length(header) - len(header)
    while len(body) < need:
        chunk = sock.recv(need - len(body))
        if not chunk:
            return None
        body += chunk
    return header + body


def test_compat_client_against_a_real_server(server):
    host, port = server.address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)

    def send_callback(data):
        sock.sendall(data)
        return read_message(sock)  # the server answers every message the client sends

    ctx = cc.sec_chl_open(send_callback, str(server.policy))
    assert cc.sec_chl_session_id(ctx) > 0
    sock.sendall(cc.sec_chl_encrypt(ctx, b"1,2,3"))
    assert cc.sec_chl_decrypt(ctx, read_message(sock)) == b"count=3 mean=2.00 max=3.00"
    cc.sec_chl_close(ctx)
    sock.close()


def test_compat_client_and_server_in_one_process(server, exe, monkeypatch):
    monkeypatch.setenv("SECURE_CHANNEL_SIM_ROOT", str(server.root))
    to_client = []
    cs.sec_chl_open(to_client.append, [str(exe), "enclave"])
    try:
        with pytest.raises(sc.SecureChannelError, match="already open"):
            cs.sec_chl_open(to_client.append, [str(exe), "enclave"])

        def send_callback(data):
            to_client.clear()
            cs.sec_chl_msg_recv_handle(data)
            return to_client[0] if to_client else None

        ctx = cc.sec_chl_open(send_callback, str(server.policy))
        session = cc.sec_chl_session_id(ctx)
        cs.sec_chl_recv_client_data_ex(session, cc.sec_chl_encrypt(ctx, b"10,20"))
        with pytest.raises(ValueError):
            cs.sec_chl_get_client_data_handle_result_ex(session, 4)
        answer = cs.sec_chl_get_client_data_handle_result_ex(session, 4096)
        assert cc.sec_chl_decrypt(ctx, answer) == b"count=2 mean=15.00 max=20.00"
        with pytest.raises(sc.SecureChannelError, match="no answer is waiting"):
            cs.sec_chl_get_client_data_handle_result_ex(session, 4096)
        cc.sec_chl_close(ctx)
    finally:
        cs.sec_chl_close()
    with pytest.raises(sc.SecureChannelError, match="not open"):
        cs.sec_chl_msg_recv_handle(b"x")


def test_compat_refusals_raise_instead_of_returning_zero(server, exe):
    wrong = wrong_measurement_policy(server, exe)
    path = server.workdir / "wrong.toml"
    path.write_text(wrong)
    host, port = server.address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)

    def send_callback(data):
        sock.sendall(data)
        return read_message(sock)

    with pytest.raises(sc.AttestationRejected):
        cc.sec_chl_open(send_callback, str(path))
    with pytest.raises(TypeError):
        cc.sec_chl_encrypt("not a context", b"x")
    with pytest.raises(TypeError):
        cc.sec_chl_open("not callable", str(server.policy))
    sock.close()
