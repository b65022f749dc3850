"""The original client functions (see :mod:`secure_channel.compat`)."""

from typing import Callable, Optional, Union

from .._native import Channel, Policy

SendCallback = Callable[[bytes], Optional[bytes]]


class SecChlContext:
    """What ``sec_chl_open`` returns: the channel, for the other functions."""

    def __init__(self) -> None:
        self.channel: Optional[Channel] = None
        self.closing = False

    def __repr__(self) -> str:
        session = self.channel.session_id if self.channel is not None else None
        return f"<SecChlContext session={session}>"


def _context(ctx: object) -> SecChlContext:
    if not isinstance(ctx, SecChlContext) or ctx.channel is None:
        raise TypeError(f"ctx must be what sec_chl_open returned, not {type(ctx).__name__}")
    return ctx


def sec_chl_open(send_callback: SendCallback, uuid: Union[Policy, str]) -> SecChlContext:
    """Opens a channel: runs the handshake, attesting the enclave.

    ``send_callback(data)`` delivers ``data`` (bytes) to the server. The server answers
    every message the client sends; a callback that reads that answer returns it (bytes)
    and it is handled at once, as the original clients do. ``uuid`` named the server TA
    to attest; here it is the client policy (a :class:`Policy` or a policy file's path)
    that says which enclaves are accepted.
    """
    if not callable(send_callback):
        raise TypeError("send_callback must be callable")
    ctx = SecChlContext()

    def send(data: bytes) -> None:
        reply = send_callback(data)
        # The answer to our Close is the enclave's Close: nothing more to handle.
        if reply is not None and ctx.channel is not None and not ctx.closing:
            ctx.channel.feed(bytes(reply))

    ctx.channel = Channel(uuid, send, acknowledgements=True)
    ctx.channel.open()
    return ctx


def sec_chl_close(ctx: SecChlContext) -> None:
    """Closes the channel: the server drops the session."""
    ctx = _context(ctx)
    ctx.closing = True
    ctx.channel.close()


def sec_chl_encrypt(ctx: SecChlContext, plain: bytes) -> bytes:
    """Encrypts ``plain`` into a record for the server."""
    return _context(ctx).channel.encrypt(plain)


def sec_chl_decrypt(ctx: SecChlContext, cipher: bytes) -> bytes:
    """Decrypts a record from the server."""
    return _context(ctx).channel.decrypt(cipher)


def sec_chl_msg_recv_handle(ctx: SecChlContext, input: bytes) -> None:  # noqa: A002 (the original's name)
    """Handles a channel message received from the server (when ``send_callback`` does
    not return the answers itself: a receiving thread feeds them here)."""
    _context(ctx).channel.feed(input)


def sec_chl_session_id(ctx: SecChlContext) -> int:
    """The session's id."""
    session = _context(ctx).channel.session_id
    if session is None:
        raise ValueError("the channel is not open")
    return session
