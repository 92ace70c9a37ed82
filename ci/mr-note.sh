#!/usr/bin/env bash
# The merge-request note job (.gitlab-ci.yml "preview-note"): one note for
# the merge request from the preview jobs' results (preview-<stack>.json),
# stateful replacements first, a property-level diff of every changed
# resource; with GITLAB_NOTE_TOKEN in a merge-request pipeline it updates the
# note of an earlier pipeline in place, or posts it the first time. Exit 1
# when a stack's preview failed or was blocked. Needs no cloud credentials.
#
# Environment: optional MR_PREVIEW_DIR (where the results are, default the
# repository), MR_PREVIEW_OUT (default preview.md).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$repo/.tools/bin"
mkdir -p "$bin"
(cd "$repo" && go build -o "$bin/mrsummary" ./cmd/mrsummary)
dir="${MR_PREVIEW_DIR:-$repo}"
args=(--note-from "$dir/preview-*.json" --out "${MR_PREVIEW_OUT:-$repo/preview.md}")
if [ -n "${GITLAB_NOTE_TOKEN:-}" ] && [ -n "${CI_MERGE_REQUEST_IID:-}" ]; then
  args+=(--post)
fi
"$bin/mrsummary" "${args[@]}"
