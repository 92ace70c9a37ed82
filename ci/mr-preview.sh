#!/usr/bin/env bash
# The merge-request preview job (.gitlab-ci.yml "preview"), also run by the
# engine end-to-end test against the stand-in providers, so this exact
# command line is tested.
#
# Builds the program (inside cmd/mrsummary: the Automation API runs it
# inline, so it is compiled once for every stack) and the policy pack, picks
# the stacks the merge request touches, previews each with the pack and
# writes preview.md; with GITLAB_NOTE_TOKEN set in a merge-request pipeline
# it posts the summary as the merge request's note.
#
# Environment: the Pulumi CLI on PATH; the state backend and its credentials
# (PULUMI_BACKEND_URL, AWS via OIDC); optional MR_PREVIEW_ROOT (the project
# directory, default the repository), PULUMI_SECRETS_PROVIDER (for stacks
# the preview creates), MR_PREVIEW_OUT (default preview.md).
set -euo pipefail
source "$(dirname "$0")/tools.sh"
root="${MR_PREVIEW_ROOT:-$repo}"
out="${MR_PREVIEW_OUT:-$repo/preview.md}"

args=(--root "$root" --policy-pack "$bin/eduai-policy" --policy-config-dir "$repo/policies/config" --out "$out")
if [ -n "${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}" ]; then
  git -C "$repo" diff --name-only "$CI_MERGE_REQUEST_DIFF_BASE_SHA"...HEAD > "$repo/changed-files.txt"
  args+=(--changed-files "$repo/changed-files.txt")
fi
if [ -n "${PULUMI_SECRETS_PROVIDER:-}" ]; then
  args+=(--secrets-provider "$PULUMI_SECRETS_PROVIDER")
fi
if [ -n "${GITLAB_NOTE_TOKEN:-}" ] && [ -n "${CI_MERGE_REQUEST_IID:-}" ]; then
  args+=(--post)
fi
"$bin/mrsummary" "${args[@]}"
