"""The package's exceptions. Each failure the Rust crates type has its class here; every
class derives from SecureChannelError, and from the built-in exception Python code
already catches for that kind of failure (ValueError, TimeoutError, ConnectionError)."""

from typing import Optional


class SecureChannelError(Exception):
    """Base of every error this package raises on its own."""


class PolicyError(SecureChannelError, ValueError):
    """A policy file or text that cannot be used: unreadable, malformed, an unknown key,
    or a policy that accepts nothing."""


class AttestationRejected(SecureChannelError):
    """The enclave's evidence did not satisfy the policy (or could not be verified).

    ``reason`` says why, as the verifier put it. ``claims`` are the claims as the
    evidence states them (a :class:`Claims`, or None when the evidence could not be read
    that far): they were *not* verified, and are there to compare with the policy.
    """

    def __init__(self, message: str, reason: str = "", claims: "Optional[object]" = None):
        super().__init__(message)
        self.reason = reason or message
        self.claims = claims


class ServerBusy(SecureChannelError):
    """The server refused the connection at its capacity limit; try again later."""


class HandshakeTimeout(SecureChannelError, TimeoutError):
    """The handshake did not complete in time."""


class RequestTimeout(SecureChannelError, TimeoutError):
    """No reply to a request in time. The connection may be mid-message: close it."""


class ConnectionClosed(SecureChannelError, ConnectionError):
    """The connection to the server closed, or could not be made."""


class SessionClosed(ConnectionClosed):
    """The enclave ended the session (its authenticated Close); open a new one.

    ``received`` is how many of this client's records the enclave had accepted (a request
    sent in record number ``received`` or later never arrived, so it did not run; the others
    may have), ``reason`` why it closed (``"normal"``, ``"shutdown"``, ``"sequence_error"``,
    ``"backend_failed"``, ``"expired"``, ``"internal_error"`` or ``"unknown(N)"``); both None
    when the session was closed on this side.
    """

    def __init__(self, message: str, received: "Optional[int]" = None, reason: "Optional[str]" = None):
        super().__init__(message)
        self.received = received
        self.reason = reason


class StreamEnded(SecureChannelError):
    """The enclave ended its stream (stream sessions): no more data comes from it."""


class EnclaveUnavailable(SecureChannelError):
    """The host could not reach the enclave (it exited, hung or is restarting)."""


class ProtocolError(SecureChannelError):
    """A message that is not valid here: a record that fails authentication, a replay,
    another wire version, a malformed or oversize frame, a message out of place."""
