#!/usr/bin/env bash
# The merge-request preview job (.gitlab-ci.yml "preview", one job per stack
# on that stack's in-VPC runner), also run by the engine end-to-end test
# against the stand-in providers, so this exact command line is tested.
#
#   ci/mr-preview.sh <stack>
#
# Builds the program (inside cmd/mrsummary: the Automation API runs it
# inline) and the policy pack, previews the stack with the pack when the
# merge request touches it, and saves the update plan the reviewer reads
# (plan-<stack>.json, bound to this commit by plan-<stack>.commit) and the
# result (preview-<stack>.json) that ci/mr-note.sh turns into the one note.
#
# Environment: the Pulumi CLI on PATH; the state backend and its credentials
# (PULUMI_BACKEND_URL, AWS via OIDC); optional MR_PREVIEW_ROOT (the project
# directory, default the repository), MR_PREVIEW_DIR (where the plan and the
# results go, default the repository), PULUMI_SECRETS_PROVIDER (for stacks
# the preview creates), CI_COMMIT_SHA (default git rev-parse HEAD).
set -euo pipefail
source "$(dirname "$0")/tools.sh"
stack="${1:?usage: ci/mr-preview.sh <stack>}"
root="${MR_PREVIEW_ROOT:-$repo}"
dir="${MR_PREVIEW_DIR:-$repo}"
commit="${CI_COMMIT_SHA:-$(git -C "$repo" rev-parse HEAD)}"
mkdir -p "$dir"

args=(--root "$root" --stacks "$stack" --policy-pack "$bin/eduai-policy" --policy-config-dir "$repo/policies/config"
  --save-plans "$dir" --commit "$commit" --results "$dir/preview-$stack.json" --out "$dir/preview-$stack.md")
if [ -n "${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}" ]; then
  git -C "$repo" diff --name-only "$CI_MERGE_REQUEST_DIFF_BASE_SHA"...HEAD > "$dir/changed-files.txt"
  args+=(--changed-files "$dir/changed-files.txt")
fi
if [ -n "${PULUMI_SECRETS_PROVIDER:-}" ]; then
  args+=(--secrets-provider "$PULUMI_SECRETS_PROVIDER")
fi
"$bin/mrsummary" "${args[@]}"
