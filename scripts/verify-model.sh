#!/usr/bin/env bash
# Runs the ProVerif models in verification/ and checks every query's verdict:
#   verification/*.pv           the protocol as implemented: every query must be proved (true);
#   verification/controls/*.pv  deliberately flawed variants: every query must be refuted
#                               (false: ProVerif found the attack), or the check is not
#                               able to see the flaw it claims to exclude.
# Uses `proverif` on PATH, else ../shared/tools/proverif beside the repository (ProVerif
# 2.05, built from source on first use). Prints each model's time and verdicts.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if command -v proverif >/dev/null 2>&1; then
  proverif=(proverif)
elif [ -x "$root/../shared/tools/proverif" ]; then
  proverif=("$root/../shared/tools/proverif")
else
  echo "verify-model: no proverif: put ProVerif 2.05 on PATH (https://bblanche.gitlabpages.inria.fr/proverif/)" >&2
  exit 1
fi

failed=0
check() {
  local model="$1" expect="$2"
  local out start elapsed queries verdicts bad
  start=$(date +%s%N)
  if ! out=$("${proverif[@]}" -lib verification/primitives "$model" 2>&1); then
    echo "FAIL $model: proverif failed"; echo "$out" | tail -20; failed=1; return
  fi
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  # Main verdict lines only (ProVerif adds parenthesised notes about weaker variants).
  verdicts=$(echo "$out" | grep '^RESULT ' | grep -v '^RESULT (' || true)
  queries=$(grep -cE '^[[:space:]]*query ' "$model" || true)
  printf '%-55s %5d.%03d s\n' "$model" $((elapsed / 1000)) $((elapsed % 1000))
  echo "$verdicts" | sed 's/^/    /'
  if [ "$(echo "$verdicts" | grep -c .)" -ne "$queries" ]; then
    echo "FAIL $model: $queries queries, $(echo "$verdicts" | grep -c .) verdicts"; failed=1; return
  fi
  bad=$(echo "$verdicts" | grep -v "is $expect\.$" || true)
  if [ -n "$bad" ]; then
    echo "FAIL $model: expected every query to be $expect:"; echo "$bad"; failed=1
  fi
}

for m in verification/*.pv; do check "$m" true; done
for m in verification/controls/*.pv; do check "$m" false; done

if [ "$failed" -ne 0 ]; then
  echo "verify-model: FAILED"; exit 1
fi
echo "verify-model: every protocol query proved, every control's attack found"
