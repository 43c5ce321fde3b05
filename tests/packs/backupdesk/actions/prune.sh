#!/usr/bin/env bash
# Pretends to delete VOLUME's snapshots older than SECONDS. Only appends a line under the state folder.
set -euo pipefail
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}; mkdir -p "$state"
printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_USER:-unknown}" "$1" "$2" >>"$state/prunes.tsv"
printf 'would prune snapshots of %s older than %s seconds (simulated)\n' "$1" "$2"
