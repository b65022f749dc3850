"""The cost of a request from Python beside the Rust client, in one run.

Starts `secure-channel serve` (simulated TEE) on loopback, then alternately, for ROUNDS
rounds: the Rust client (`secure-channel load --clients 1 --json`) and this package's
Client, each sending the same 64-byte statistics request back to back for SECONDS. Prints
each side's median latency and requests per second, and the ratio Python / Rust with its
spread over the rounds. Also the cost of connecting (a full attested handshake) from
Python.

    python crates/python/bench/request_cost.py [--exe target/release/secure-channel]

Use a release build of both (`maturin build --release`, `cargo build --release -p
sc-cli`) for figures worth quoting.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import secure_channel as sc

ROUNDS = 3
SECONDS = 3.0
BODY = (b"1," * 32)[:63]  # what `load --request-size 64` sends


def serve(exe: str, workdir: pathlib.Path):
    root, policy = workdir / "root.key", workdir / "policy.toml"
    subprocess.run([exe, "sim-root", "create", "--out", str(root)], check=True, capture_output=True)
    process = subprocess.Popen(
        [exe, "serve", "--listen", "127.0.0.1:0", "--sim-root", str(root), "--policy-out", str(policy), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    address = process.stdout.readline().split("listening on ")[1].split(";")[0].strip()
    return process, address, policy


def rust_round(exe: str, address: str, policy: pathlib.Path) -> "tuple[float, float]":
    out = subprocess.run(
        [exe, "load", "--target", address, "--policy", str(policy), "--clients", "1",
         "--duration", f"{SECONDS}s", "--request-size", "64", "--json", "-q"],
        check=True, capture_output=True, text=True,
    )
    requests = json.loads(out.stdout)["requests"]
    return requests["latency_ms"]["p50"], requests["per_sec"]


def python_round(address: str, policy: sc.Policy) -> "tuple[float, float]":
    latencies = []
    with sc.Client.connect(address, policy) as client:
        end = time.perf_counter() + SECONDS
        while True:
            started = time.perf_counter()
            if started >= end:
                break
            client.request(BODY)
            latencies.append(time.perf_counter() - started)
    return statistics.median(latencies) * 1000, len(latencies) / SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", default=str(pathlib.Path(__file__).resolve().parents[3] / "target/release/secure-channel"))
    exe = parser.parse_args().exe
    with tempfile.TemporaryDirectory() as tmp:
        process, address, policy_path = serve(exe, pathlib.Path(tmp))
        try:
            policy = sc.Policy.from_file(str(policy_path))
            connects = []
            for _ in range(50):
                started = time.perf_counter()
                sc.Client.connect(address, policy).close()
                connects.append((time.perf_counter() - started) * 1000)
            rust, python = [], []
            for _ in range(ROUNDS):
                rust.append(rust_round(exe, address, policy_path))
                python.append(python_round(address, policy))
        finally:
            process.kill()
    ratios = [p[0] / r[0] for p, r in zip(python, rust)]
    print(f"request (64 B, statistics job), {ROUNDS} rounds of {SECONDS:.0f} s, one client each:")
    print(f"  Rust client   median {statistics.median(r[0] for r in rust):.3f} ms, {statistics.median(r[1] for r in rust):,.0f} req/s")
    print(f"  Python client median {statistics.median(p[0] for p in python):.3f} ms, {statistics.median(p[1] for p in python):,.0f} req/s")
    print(f"  Python / Rust latency {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    print(f"connect from Python (attested handshake): median {statistics.median(connects):.2f} ms over {len(connects)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
