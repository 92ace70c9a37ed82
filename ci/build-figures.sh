#!/usr/bin/env bash
# Prints the build figures of README "Speed": wall time, peak memory (max
# RSS of the go command and its children) and binary size of the program
# (main.go) and of the policy pack, warm (build cache filled), relinked (only
# the link step redone) and, for the pack, cold (empty build cache; the
# module cache is kept). With --cold the program's cold build is measured
# too (15-25 minutes on 2 cores). Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
measure() { # label, then the command
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$out/t" "$@" > /dev/null 2>&1
  read -r secs kb < "$out/t"
  printf '%-34s %8.1f s %8d MiB\n' "$label" "$secs" "$((kb / 1024))"
}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3)"
printf '%-34s %10s %12s\n' "build" "wall" "peak RSS"
go build -o "$out/eduai" . # fill the cache
measure "program, warm (no change)" go build -o "$out/eduai" .
measure "program, relink (-X changes)" go build -ldflags "-X main.buildStamp=$(date +%s%N)" -o "$out/eduai" .
measure "policy pack, cold (empty GOCACHE)" env GOCACHE="$out/cache-pack" go build -o "$out/eduai-policy" ./policies
measure "policy pack, warm" go build -o "$out/eduai-policy" ./policies
if [ "${1:-}" = "--cold" ]; then
  measure "program, cold (empty GOCACHE)" env GOCACHE="$out/cache-program" go build -o "$out/eduai" .
fi
printf 'binary sizes: program %d MiB, policy pack %d MiB\n' \
  "$(( $(stat -c %s "$out/eduai") / 1048576 ))" "$(( $(stat -c %s "$out/eduai-policy") / 1048576 ))"
rm -rf "$out"
