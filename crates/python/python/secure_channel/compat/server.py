"""The original server (host) functions (see :mod:`secure_channel.compat`). The original
keeps one server per process; so do these."""

import threading
from typing import Callable, Dict, List, Optional, Union

from .._errors import SecureChannelError
from .._native import Host

#: The enclave function the client data goes to (the host's default data function).
DATA_FUNCTION = 1

_lock = threading.Lock()
_host: Optional[Host] = None
_send: Optional[Callable[[bytes], object]] = None
_results: Dict[int, bytes] = {}


def _server() -> Host:
    if _host is None:
        raise SecureChannelError("the server is not open: call sec_chl_open first")
    return _host


def sec_chl_open(send_callback: Callable[[bytes], object], enclave_path: Union[str, List[str]]) -> None:
    """Starts the enclave program at ``enclave_path`` (or a list of the program and its
    arguments) and the server around it. ``send_callback(data)`` sends ``data`` to the
    client the message being handled came from. A simulated enclave finds its root key in
    ``SECURE_CHANNEL_SIM_ROOT``, as the C runtime does."""
    global _host, _send
    if not callable(send_callback):
        raise TypeError("send_callback must be callable")
    with _lock:
        if _host is not None:
            raise SecureChannelError("the server is already open: call sec_chl_close first")
        _host = Host(enclave_path)
        _send = send_callback


def sec_chl_close() -> None:
    """Destroys every session and stops the enclave program."""
    global _host, _send
    with _lock:
        host, _host, _send = _host, None, None
        _results.clear()
    if host is not None:
        host.close()


def sec_chl_msg_recv_handle(input: bytes) -> None:  # noqa: A002 (the original's name)
    """Handles a channel message from a client; the answer goes out through
    ``send_callback``."""
    reply = _server().handle(input)
    if reply is not None and _send is not None:
        _send(reply)


def sec_chl_recv_client_data_ex(session_id: int, input: bytes) -> None:  # noqa: A002
    """Hands a client's encrypted data of session ``session_id`` to the enclave; the
    enclave's encrypted answer is kept for
    :func:`sec_chl_get_client_data_handle_result_ex`."""
    answer = _server().call(DATA_FUNCTION, session_id, input)
    with _lock:
        _results[session_id] = answer


def sec_chl_get_client_data_handle_result_ex(session_id: int, output_max_len: int) -> bytes:
    """The enclave's encrypted answer to the last data of session ``session_id``, at most
    ``output_max_len`` bytes (a longer answer raises ValueError and stays kept)."""
    if output_max_len < 0:
        raise ValueError("output_max_len must not be negative")
    with _lock:
        answer = _results.get(session_id)
        if answer is None:
            raise SecureChannelError(f"no answer is waiting for session {session_id}")
        if len(answer) > output_max_len:
            raise ValueError(f"the answer is {len(answer)} bytes, more than output_max_len {output_max_len}")
        del _results[session_id]
        return answer
