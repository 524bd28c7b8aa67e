#!/usr/bin/env bash
# A newcomer's clone passes its tests: clones this repository's HEAD into a fresh temporary directory, where
# nothing is beside it (no material directory, no build cache), and runs README's test command there.
#   .ci/clone-check.sh            clone HEAD into a temporary directory, `swift test` there, remove it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH=/opt/swift/usr/bin:$PATH
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-clone-check.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
clone="$scratch/clone"
# What is committed, exactly as a user gets it: a clone of HEAD (uncommitted changes are not a user's).
git clone --quiet --no-hardlinks "$root" "$clone"
git -C "$clone" checkout --quiet --detach "$(git rev-parse HEAD)"
if [ "$(ls -A "$scratch")" != "clone" ]; then
  echo "clone-check: $scratch holds more than the clone" >&2
  exit 1
fi

echo "clone-check: swift test in $clone (nothing beside it)"
if ! (cd "$clone" && swift test --no-parallel); then
  echo "clone-check: swift test fails in a fresh clone with nothing beside it ($clone); see the failures above" >&2
  exit 1
fi
echo "clone-check: a fresh clone passes swift test"
