#!/usr/bin/env bash
# Pretends to set TEAM's quota to GIB GiB. Only appends a line under the state folder.
set -euo pipefail
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}; mkdir -p "$state"
printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_USER:-unknown}" "$1" "$2" >>"$state/quotas.tsv"
printf 'would set quota of %s to %s GiB (simulated)\n' "$1" "$2"
