#!/usr/bin/env bash
# The demo runs a whole rollout in network namespaces. It needs the agent
# (rollouts, analysis, rollback), which is not built yet.
set -eu
cd "$(dirname "$0")/.."
echo "canary-bpf demo: the datapath is built ($(build/canary-bpf --version))."
echo "The full story (lab namespaces, rollout, automatic rollback) arrives with the agent."
echo "Until then, 'sudo make check' exercises the datapath on this kernel."
