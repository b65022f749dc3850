"""The data owner's example (examples/python/data_owner.py) against a real server."""

import subprocess
import sys

from conftest import REPO

EXAMPLE = REPO / "examples" / "python"


def test_the_data_owner_example(server):
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "data_owner.py"), str(EXAMPLE / "readings.csv"), str(server.policy), server.address],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("attested: Claims(platform='simulated TEE (SIMULATED)'"), lines
    assert lines[1] == "5 rows; computed inside the enclave: count=5 mean=20.90 max=23.25", lines
    assert lines[2].startswith("the host relayed 6 messages"), lines
    assert len(lines) == 3
