#!/usr/bin/env bash
# The scheduled drift job (.gitlab-ci.yml "drift"), also run by the engine
# end-to-end test against the stand-in providers: for each stack given (or
# DRIFT_STACKS, default all), `pulumi preview --refresh --expect-no-changes`
# with the policy pack through the Automation API (cmd/mrsummary --drift),
# a report of every drifted resource and property in drift.md, exit 1 when a
# stack drifted. It never changes anything: scheduled pipelines never deploy.
#
# Environment: as ci/mr-preview.sh (the CLI on PATH, the state backend and
# its credentials); optional DRIFT_ROOT (the project directory), DRIFT_OUT
# (default drift.md).
set -euo pipefail
source "$(dirname "$0")/tools.sh"
root="${DRIFT_ROOT:-$repo}"
out="${DRIFT_OUT:-$repo/drift.md}"
stacks="${1:-${DRIFT_STACKS:-dev,staging,prod}}"

status=0
"$bin/mrsummary" --drift --root "$root" --stacks "$stacks" --policy-pack "$bin/eduai-policy" \
  --policy-config-dir "$repo/policies/config" --out "$out" || status=$?
cat "$out"
exit "$status"
