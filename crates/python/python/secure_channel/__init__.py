"""Attested secure channel for confidential computing.

A data owner's client attests an enclave (a TEE) and agrees a session key bound to that
attestation; the untrusted host in between only relays ciphertext. Everything here runs
in the project's Rust crates: nothing of the protocol or the crypto is Python.

* :class:`Client` -- a channel over TCP (``Client.connect(address, policy)``).
* :class:`AsyncClient` -- the same for asyncio.
* :class:`Channel` -- the client over a transport you own (a send callable and ``feed``).
* :class:`Host` -- the untrusted relay, for Python servers.
* :func:`verify_evidence`, :func:`measure` -- attestation without a connection.
* :mod:`secure_channel.compat` -- the original secGear Python wrappers' functions.
"""

from ._errors import (
    AttestationRejected,
    ConnectionClosed,
    EnclaveUnavailable,
    HandshakeTimeout,
    PolicyError,
    ProtocolError,
    RequestTimeout,
    SecureChannelError,
    ServerBusy,
    SessionClosed,
    StreamEnded,
)
from ._native import (
    MESSAGE_HEADER_LEN,
    Channel,
    Claims,
    Client,
    Host,
    Policy,
    __version__,
    measure,
    message_length,
    verify_evidence,
)
from ._aio import AsyncClient

__all__ = [
    "AsyncClient",
    "AttestationRejected",
    "Channel",
    "Claims",
    "Client",
    "ConnectionClosed",
    "EnclaveUnavailable",
    "HandshakeTimeout",
    "Host",
    "MESSAGE_HEADER_LEN",
    "Policy",
    "PolicyError",
    "ProtocolError",
    "RequestTimeout",
    "SecureChannelError",
    "ServerBusy",
    "SessionClosed",
    "StreamEnded",
    "__version__",
    "measure",
    "message_length",
    "verify_evidence",
]
