"""The asyncio client: the blocking client's calls run on a thread pool (they release the
GIL while they wait), so the event loop keeps running."""

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Union

from ._native import Claims, Client, Policy

_executor: Optional[ThreadPoolExecutor] = None


def _pool() -> ThreadPoolExecutor:
    # One pool for every AsyncClient, larger than asyncio's default (min(32, cpus + 4))
    # so that many clients waiting on the network do not queue behind each other.
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="secure-channel")
    return _executor


async def _run(function: Any, *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(function, *args, **kwargs))


class AsyncClient:
    """An attested channel for asyncio code.

    ``client = await AsyncClient.connect(address, policy)``, then
    ``await client.request(data)``; ``async with`` closes it. Raises what
    :class:`Client` raises.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    @classmethod
    async def connect(
        cls,
        address: Union[str, "tuple[str, int]"],
        policy: Union[Policy, str],
        timeout: float = 10.0,
        request_timeout: Optional[float] = 30.0,
        streams: bool = False,
    ) -> "AsyncClient":
        client = await _run(
            Client.connect, address, policy, timeout=timeout, request_timeout=request_timeout, streams=streams
        )
        return cls(client)

    @property
    def claims(self) -> Claims:
        """The enclave's verified claims."""
        return self._client.claims

    @property
    def session_id(self) -> int:
        """The session's id."""
        return self._client.session_id

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._client.closed

    async def request(self, data: bytes) -> bytes:
        """Sends ``data`` and returns the enclave's reply."""
        return await _run(self._client.request, data)

    async def send(self, data: bytes) -> None:
        """Sends one record without waiting for its reply."""
        await _run(self._client.send, data)

    async def recv(self) -> bytes:
        """Receives the next reply."""
        return await _run(self._client.recv)

    async def close(self) -> None:
        """Closes the session and the connection."""
        await _run(self._client.close)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
