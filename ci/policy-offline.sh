#!/usr/bin/env bash
# The policy job (.gitlab-ci.yml "policy-offline"): the offline preview of
# every stack with its policy verdict. No cloud, no credentials: it also
# runs for merge requests from forks. Exit 1 when a stack is blocked
# (a mandatory violation), 2 on a config error.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools/bin
go build -o .tools/bin/eduai-preview ./cmd/preview || exit 2
rc=0
for stack in dev staging prod; do
  .tools/bin/eduai-preview --stack "$stack" > "preview-$stack.txt"
  code=$?
  echo "$stack: $(tail -1 "preview-$stack.txt") (exit $code)"
  if [ "$code" -gt "$rc" ]; then rc=$code; fi
done
exit "$rc"
