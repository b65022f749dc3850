"""The asyncio client: many clients at once, and an event loop that keeps running."""

import asyncio

import pytest

import secure_channel as sc
from conftest import UNRELATED_POLICY, wrong_measurement_policy


def test_32_concurrent_clients(server):
    async def one(n):
        async with await sc.AsyncClient.connect(server.address, str(server.policy)) as client:
            assert client.claims.simulated
            replies = []
            for k in range(3):
                replies.append(await client.request(f"{n},{k}".encode()))
            return replies

    async def main():
        return await asyncio.gather(*(one(n) for n in range(32)))

    results = asyncio.run(main())
    for n, replies in enumerate(results):
        for k, reply in enumerate(replies):
            mean = (n + k) / 2
            assert reply == f"count=2 mean={mean:.2f} max={max(n, k):.2f}".encode()


def test_the_event_loop_runs_while_a_client_waits(silent_address):
    # A server that accepts and never answers: the handshake waits its full second.
    policy = sc.Policy.from_toml(UNRELATED_POLICY)

    async def main():
        ticks = 0
        waiting = asyncio.ensure_future(sc.AsyncClient.connect(silent_address, policy, timeout=1.0))
        while not waiting.done():
            ticks += 1
            await asyncio.sleep(0.005)
        with pytest.raises(sc.HandshakeTimeout):
            waiting.result()
        return ticks

    ticks = asyncio.run(main())
    # A loop blocked by the wait would have ticked once or twice; a free one about 200 times.
    assert ticks > 50, ticks


def test_async_rejection_raises_the_same_exception(server, exe):
    wrong = wrong_measurement_policy(server, exe)

    async def main():
        await sc.AsyncClient.connect(server.address, sc.Policy.from_toml(wrong))

    with pytest.raises(sc.AttestationRejected):
        asyncio.run(main())


def test_async_pipelining(server):
    async def main():
        client = await sc.AsyncClient.connect(server.address, str(server.policy))
        for i in range(5):
            await client.send(str(i).encode())
        replies = [await client.recv() for _ in range(5)]
        await client.close()
        assert client.closed
        return replies

    assert asyncio.run(main()) == [f"count=1 mean={i}.00 max={i}.00".encode() for i in range(5)]
