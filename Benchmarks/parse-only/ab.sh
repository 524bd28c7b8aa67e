#!/bin/bash
# Parse-only A/B of the JSON reader between git revisions (see main.swift here):
#   ROUNDS=3 bash Benchmarks/parse-only/ab.sh FILE.ndjson REV_A REV_B ...   (a REV of "." is the work tree)
# Builds each revision's Sources/Sluice/JSON/{JSONReader,StringScanning,JSONError,JSONView}.swift with this
# harness (swiftc -O -wmo, a few seconds), then runs them alternately ROUNDS times (default 3), best of 5 each.
set -euo pipefail
file=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
out=$(mktemp -d)
revs=("$@")
rounds=${ROUNDS:-3}
for rev in "${revs[@]}"; do
  dir="$out/$(echo "$rev" | tr '/.' '__')"
  mkdir -p "$dir"
  for f in JSONReader.swift StringScanning.swift JSONError.swift JSONView.swift; do
    if [ "$rev" = "." ]; then cp "$root/Sources/Sluice/JSON/$f" "$dir/$f"
    else git -C "$root" show "$rev:Sources/Sluice/JSON/$f" > "$dir/$f"; fi
  done
  swiftc -O -wmo -o "$dir/parse-only" "$here/main.swift" "$dir"/J*.swift "$dir"/S*.swift
done
for r in $(seq "$rounds"); do
  for rev in "${revs[@]}"; do
    printf '%-12s ' "$rev"
    "$out/$(echo "$rev" | tr '/.' '__')/parse-only" "$file" 5
  done
done
rm -rf "$out"
