#!/usr/bin/env bash
# Checks .gitlab-ci.yml with a real GitLab CI parser: installs the pinned
# gitlab-ci-local (npm) and runs ci/gitlab_test.go: the jobs each pipeline
# source gets, and the validate, test and policy jobs with its shell executor.
# 4.65.1 is the newest gitlab-ci-local that runs on Node 20 (Debian's).
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.65.1
prefix="$PWD/.tools/npm"
# gitlab-ci-local needs Node and npm, and rsync to stage the jobs' files (Debian packages).
missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bin="$prefix/node_modules/.bin/gitlab-ci-local"
if [ ! -x "$bin" ] || [ "$("$bin" --version)" != "$version" ]; then
  npm install --prefix "$prefix" --no-audit --no-fund --silent "gitlab-ci-local@$version"
fi
echo "gitlab-ci-local $("$bin" --version), node $(node --version)"
GITLAB_CI_LOCAL="$bin" EDUAI_REQUIRE_GITLAB_CI_LOCAL=1 EDUAI_GITLAB_RUN_JOBS="${EDUAI_GITLAB_RUN_JOBS:-1}" \
  go test ./ci -count=1 -v -timeout 60m
