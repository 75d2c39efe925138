#!/usr/bin/env bash
# `snakemake --lint`, failing on any lint (Snakemake prints "Congratulations" when there is none).
# Usage: tools/snakemake_lint.sh [path/to/snakemake]; a lint kept on purpose is justified in a
# comment at its rule.
set -uo pipefail
SNAKEMAKE=${1:-snakemake}
out=$("$SNAKEMAKE" --lint 2>&1)
rc=$?
echo "$out"
if [ $rc != 0 ] || ! grep -q "Congratulations, your workflow is in a good condition" <<<"$out"; then
  echo "snakemake --lint: lints found (see above)" >&2
  exit 1
fi
