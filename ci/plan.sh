#!/usr/bin/env bash
# The plan jobs of the default branch (.gitlab-ci.yml "plan-<stack>", on the
# stack's in-VPC runner): `pulumi preview --save-plan` of one stack with the
# policy pack, bound to this commit. The manual deploy job applies exactly
# this plan (ci/deploy.sh); its report (plan-<stack>.md, with every changed
# property) is what the person who presses the button reviews.
#
#   ci/plan.sh <stack>
#
# Environment: as ci/mr-preview.sh; PLAN_DIR (default the repository).
set -euo pipefail
source "$(dirname "$0")/tools.sh"
stack="${1:?usage: ci/plan.sh <stack>}"
root="${PLAN_ROOT:-$repo}"
dir="${PLAN_DIR:-$repo}"
commit="${CI_COMMIT_SHA:-$(git -C "$repo" rev-parse HEAD)}"
mkdir -p "$dir"
args=(--root "$root" --stacks "$stack" --policy-pack "$bin/eduai-policy" --policy-config-dir "$repo/policies/config"
  --save-plans "$dir" --commit "$commit" --out "$dir/plan-$stack.md")
if [ -n "${PULUMI_SECRETS_PROVIDER:-}" ]; then
  args+=(--secrets-provider "$PULUMI_SECRETS_PROVIDER")
fi
status=0
"$bin/mrsummary" "${args[@]}" || status=$?
cat "$dir/plan-$stack.md"
exit "$status"
