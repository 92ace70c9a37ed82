# Sourced by ci/mr-preview.sh and ci/drift.sh: builds the policy pack and
# cmd/mrsummary (the program runs inline in it) into $bin; sets repo and bin.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$repo/.tools/bin"
mkdir -p "$bin"
(cd "$repo" && go build -o "$bin/eduai-policy" ./policies && go build -o "$bin/mrsummary" ./cmd/mrsummary)
