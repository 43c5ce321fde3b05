#!/usr/bin/env bash
# Example action: records that VERSION of APP is deployed to ENVIRONMENT in the
# bot's state folder (deploys.tsv). Nothing leaves this machine.
set -euo pipefail
app=$1
version=$2
environment=$3
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}
mkdir -p "$state"
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_USER:-unknown}" "$app" "$version" "$environment" >>"$state/deploys.tsv"
printf 'deployed %s %s to %s (simulated)\n' "$app" "$version" "$environment"
