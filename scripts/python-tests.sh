#!/usr/bin/env bash
# The Python package's tests (docs/PYTHON.md): builds the wheel with maturin, installs it
# into a fresh virtual environment, and runs the pytest suite there against the real
# `secure-channel` executable. Needs python3 with venv, and PyPI for maturin and pytest.
#   scripts/python-tests.sh [--release] [pytest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
if [ "${1:-}" = "--release" ]; then
  profile=(--release)
  shift
fi

# The build tools, once (kept under target/).
tools=target/python-tools
if ! [ -x "$tools/bin/maturin" ] || ! [ -x "$tools/bin/pytest" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q -r crates/python/requirements-dev.txt
fi

rm -rf target/wheels
"$tools/bin/maturin" build -q "${profile[@]}" -m crates/python/Cargo.toml -o target/wheels
wheel=$(ls target/wheels/secure_channel-*.whl)
echo "wheel: $wheel ($(stat -c %s "$wheel") bytes)"

# A fresh environment with nothing but the wheel and pytest.
env_dir=$(mktemp -d)
trap 'rm -rf "$env_dir"' EXIT
python3 -m venv "$env_dir/venv"
"$env_dir/venv/bin/pip" install -q "$wheel" "$(grep '^pytest==' crates/python/requirements-dev.txt)"

cargo build -q -p sc-cli
export SECURE_CHANNEL_BIN="$PWD/target/debug/secure-channel"
# From the tests' directory, so that the package comes from the wheel, not the source tree.
cd crates/python/tests
"$env_dir/venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
