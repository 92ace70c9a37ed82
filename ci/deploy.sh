#!/usr/bin/env bash
# The deploy jobs (.gitlab-ci.yml "deploy-<stack>", on the stack's in-VPC
# runner): `pulumi up --plan plan-<stack>.json` with the policy pack, the plan
# the plan job of this same commit saved. A plan made from another commit is
# refused before anything runs; the engine refuses an update that goes beyond
# the plan (the program, the config or the stack changed since): rerun the
# plan job, review it, deploy again.
#
#   ci/deploy.sh <stack>
#
# Environment: as ci/mr-preview.sh; PLAN_DIR (where the plan is, default the
# repository), DEPLOY_OUT (default deploy-<stack>.md there).
set -euo pipefail
source "$(dirname "$0")/tools.sh"
stack="${1:?usage: ci/deploy.sh <stack>}"
root="${PLAN_ROOT:-$repo}"
dir="${PLAN_DIR:-$repo}"
commit="${CI_COMMIT_SHA:-$(git -C "$repo" rev-parse HEAD)}"
out="${DEPLOY_OUT:-$dir/deploy-$stack.md}"
status=0
"$bin/mrsummary" --deploy --root "$root" --stacks "$stack" --plan "$dir/plan-$stack.json" --commit "$commit" \
  --policy-pack "$bin/eduai-policy" --policy-config-dir "$repo/policies/config" --out "$out" || status=$?
[ -f "$out" ] && cat "$out"
exit "$status"
