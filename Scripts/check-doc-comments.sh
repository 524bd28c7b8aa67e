#!/bin/sh
# Lists public declarations in Sources/Sluice that have no DocC comment (`///`) right above them (attributes
# and modifiers on their own lines may sit in between). Exit status 1 when there is any.
#   Scripts/check-doc-comments.sh [DIR...]     (default: Sources/Sluice)
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- Sources/Sluice
find "$@" -name '*.swift' | sort | xargs awk '
FNR == 1 { documented = 0 }
{
    line = $0
    sub(/^[ \t]+/, "", line)
    if (line ~ /^\/\/\//) { documented = 1; next }
    # An attribute or a modifier alone on its line belongs to the declaration below it.
    if (line ~ /^(@[A-Za-z_]+(\([^)]*\))? *)+$/ || line ~ /^nonisolated(\([a-z]+\))?$/) { next }
    if (line ~ /^(@[A-Za-z_]+(\([^)]*\))? +)*(public|open)[ (]/ && line !~ /^public +(import|extension)/) {
        if (!documented) { print FILENAME ":" FNR ": " line; missing = 1 }
    }
    documented = 0
}
END { exit missing }' || exit 1
