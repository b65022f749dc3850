#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ briefly (SC_FUZZ_SECS, default 15 s each) under
# AddressSanitizer, starting from the checked-in corpus (copied, so that the smoke run does
# not grow it). Needs the nightly toolchain (and installs cargo-fuzz if it is missing);
# without nightly it says so and skips. Fails on any crash, leak, timeout or assertion.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${SC_FUZZ_SECS:-15}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz-smoke: no nightly toolchain here: the fuzz targets were NOT run (rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked >/dev/null 2>&1 || cargo install cargo-fuzz
fi

cd fuzz
cargo +nightly fuzz build -O
failed=""
for t in $(cargo +nightly fuzz list); do
  corpus="$(mktemp -d)"
  if [ -d "corpus/$t" ]; then cp -R "corpus/$t/." "$corpus/"; fi
  start=$(date +%s)
  if cargo +nightly fuzz run -O "$t" "$corpus" -- -max_total_time="$secs" -timeout=10 >"$corpus.log" 2>&1; then
    echo "fuzz-smoke: $t ok ($(( $(date +%s) - start )) s, $(grep -o 'Done [0-9]* runs' "$corpus.log" | tail -1))"
  else
    echo "fuzz-smoke: $t FAILED"; tail -40 "$corpus.log"; failed="$failed $t"
  fi
  rm -rf "$corpus" "$corpus.log"
done
if [ -n "$failed" ]; then echo "fuzz-smoke: failures:$failed"; exit 1; fi
