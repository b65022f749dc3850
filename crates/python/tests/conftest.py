"""Fixtures: the real `secure-channel` executable, a simulated root key, and `secure-channel
serve` running on loopback with the demo enclave (function 1: statistics of
comma-separated numbers)."""

import os
import pathlib
import socket
import subprocess
import threading
import time
from typing import List, Optional, Tuple

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
EVIDENCE = REPO / "crates" / "attestation" / "tests" / "evidence"

#: A valid policy that accepts no enclave running here (for failures before attestation).
UNRELATED_POLICY = 'allow_simulated = true\n[simulated]\nroot_public_key = "%s"\nmeasurements = ["%s"]\n' % (
    "11" * 32,
    "22" * 32,
)


def wrong_measurement_policy(server: "Server", exe: pathlib.Path) -> str:
    """The server's client policy with the enclave's measurement replaced by another."""
    import secure_channel as sc

    text = server.policy.read_text()
    wrong = text.replace(sc.measure(str(exe)), "00" * 32)
    assert wrong != text
    return wrong


def blocked_reader(client) -> Tuple[threading.Thread, list]:
    """A thread blocked in `client.recv()` (without the GIL); what it got or raised lands
    in the list."""
    import secure_channel as sc

    got: list = []

    def read() -> None:
        try:
            got.append(client.recv())
        except sc.SecureChannelError as e:
            got.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    return reader, got


def executable() -> pathlib.Path:
    """The `secure-channel` executable: $SECURE_CHANNEL_BIN, or cargo's build."""
    named = os.environ.get("SECURE_CHANNEL_BIN")
    if named:
        return pathlib.Path(named)
    for profile in ("debug", "release"):
        candidate = REPO / "target" / profile / "secure-channel"
        if candidate.exists():
            return candidate
    pytest.exit("build the CLI first (cargo build -p sc-cli) or set SECURE_CHANNEL_BIN", returncode=2)


class Server:
    """A running `secure-channel serve`, with the client policy it wrote."""

    def __init__(self, workdir: pathlib.Path, extra: Optional[List[str]] = None) -> None:
        self.workdir = workdir
        self.root = workdir / "root.key"
        if not self.root.exists():
            subprocess.run(
                [str(executable()), "sim-root", "create", "--out", str(self.root)],
                check=True,
                capture_output=True,
            )
        self.policy = workdir / "client-policy.toml"
        argv = [
            str(executable()),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sim-root",
            str(self.root),
            "--policy-out",
            str(self.policy),
            "--force",
        ] + (extra or [])
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log: List[str] = []
        threading.Thread(target=self._collect, daemon=True).start()
        first = self.process.stdout.readline()
        if not first.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"serve did not start: {first!r}; log: {''.join(self.log)}")
        self.address = first[len("listening on ") :].split(";")[0].strip()

    def _collect(self) -> None:
        for line in self.process.stderr:
            self.log.append(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def pytest_sessionstart(session: pytest.Session) -> None:
    # scripts/python-tests.sh tests the installed wheel, never the source tree.
    if os.environ.get("SC_PYTHON_FROM_WHEEL"):
        import secure_channel

        where = pathlib.Path(secure_channel.__file__).resolve()
        if REPO / "crates" in where.parents:
            pytest.exit(f"secure_channel was imported from the source tree ({where}), not the wheel", returncode=2)


@pytest.fixture(scope="session")
def exe() -> pathlib.Path:
    return executable()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    s = Server(tmp_path_factory.mktemp("serve"))
    yield s
    s.stop()


@pytest.fixture
def silent_address():
    """The address of a listener that accepts and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    yield "127.0.0.1:%d" % silent.getsockname()[1]
    silent.close()


@pytest.fixture
def own_server(tmp_path: pathlib.Path):
    """A server for one test (which may stop it)."""
    servers: List[Server] = []

    def start(extra: Optional[List[str]] = None) -> Server:
        s = Server(tmp_path, extra)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
