# shellcheck shell=bash
# Sourced by the benchmarks that drive the agent (agent.sh, decision.sh) with
# their arguments BIN OUTFILE [--smoke]: the binaries they use, and the
# repository as the working directory (scripts/lab.sh).
BIN=$(realpath "$1")
OUT=$2
SMOKE=${3:-}
BUILD=$(dirname "$BIN")
CLIENT=$BUILD/tests/cbclient
SLOWSRV=$BUILD/tests/slowsrv
cd "$(dirname "$0")/../.." || exit 1
# shellcheck disable=SC2034 # used by the scripts that source this
: "$OUT" "$SMOKE" "$CLIENT" "$SLOWSRV"
