#!/usr/bin/env bash
# Test runbook steps: a canary release, simulated. Records each call in the
# bot's state folder (canary.tsv); touches nothing else.
#   deploy PIPELINE BUILD     canary=runner-… (the runner it went to)
#   errors PIPELINE BUILD     {"rate": …} as JSON: a build number ending in 9
#                             fails 3.5 % of requests, others 0.2 %
#   promote PIPELINE BUILD    ships the build to every runner
#   withdraw PIPELINE RUNNER  takes the canary off the runner
set -euo pipefail
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}
mkdir -p "$state"
(IFS=$'\t'; printf '%s\t%s\t%s\n' "${OPSBOT_USER:-unknown}" "${OPSBOT_STEP:-}" "$*") >>"$state/canary.tsv"
case "$1" in
  deploy) echo "canary=runner-7 ($2 build $3)" ;;
  errors) if [[ $3 == *9 ]]; then echo '{"rate": 3.5}'; else echo '{"rate": 0.2}'; fi ;;
  promote) echo "$3" >"$state/released-$2"; echo "$2 build $3 is on every runner" ;;
  withdraw) echo "canary withdrawn from $3" ;;
  *) echo "unknown command $1" >&2; exit 2 ;;
esac
