#!/usr/bin/env bash
# Installs the AWS CLI that the clusters' kubeconfig runs: pulumi-eks writes
# an exec credential `aws eks get-token --cluster-name <name> --output json`
# (nodejs/eks/cluster.ts, generateKubeconfig, v2.8.1), so a job without the
# CLI fails every Kubernetes call with `exec: "aws": executable file not
# found`. Debian bookworm's awscli, pinned; the jobs' image
# (golang:1.26.8-bookworm) is Debian 12, and so is the machine .ci/run runs on,
# where stacks/kubeconfig_test.go runs the kubeconfig's own command with it.
set -euo pipefail
version="2.9.19-1"
if [ "$(dpkg-query -W -f='${Version}' awscli 2>/dev/null || true)" = "$version" ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "awscli=$version" >/dev/null
/usr/bin/aws --version  # (another aws may come first in PATH)
