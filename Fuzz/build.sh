#!/usr/bin/env bash
# Builds (and optionally runs) the libFuzzer target for the JSON reader and writer.
#   Fuzz/build.sh            build .build/fuzz/json-reader-fuzz
#   Fuzz/build.sh run [secs] build, seed a corpus from the repository's fixtures, fuzz for secs seconds (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swiftc >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swiftc ]; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
out=.build/fuzz
mkdir -p "$out"
# The library's whole source list, as SwiftPM sees it (every .swift file under Sources/Sluice), so the target
# cannot fall behind when a file is added or a type moves; the fuzz entry joins it in one module, so internal
# helpers are visible without `@testable`. CZlib is the package's system-library module map (links zlib).
sources=()
while IFS= read -r -d '' file; do sources+=("$file"); done < <(find Sources/Sluice -name '*.swift' -print0 | LC_ALL=C sort -z)
# -sanitize=fuzzer links libFuzzer's main and adds coverage; address catches out-of-bounds raw-pointer reads.
swiftc -swift-version 6 -O -g -parse-as-library -sanitize=fuzzer,address -use-ld=lld -module-name JSONFuzz \
  -I Sources/CZlib "${sources[@]}" Fuzz/JSONReaderFuzz.swift -o "$out/json-reader-fuzz"
echo "built $out/json-reader-fuzz (${#sources[@]} library sources + Fuzz/JSONReaderFuzz.swift)"

if [ "${1:-}" = "run" ]; then
  seconds=${2:-60}
  corpus="$out/corpus"
  mkdir -p "$corpus"
  # Seeds: the JSONTestSuite parsing files and the first 200 sample event lines (one file per line).
  fixtures=Tests/SluiceTests/Fixtures
  cp "$fixtures"/JSONTestSuite/test_parsing/*.json "$corpus"/
  head -n 200 "$fixtures"/samples/statsig-export-1k.ndjson |
    awk -v dir="$corpus" '{ f = dir "/sample-" NR ".json"; printf "%s", $0 > f; close(f) }'
  "$out/json-reader-fuzz" "$corpus" -dict=Fuzz/json.dict -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
fi
