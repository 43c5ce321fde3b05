#!/usr/bin/env bash
# Pretends to restore PATH on VOLUME as of the UTC instant. Only appends a line under the state folder.
set -euo pipefail
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}; mkdir -p "$state"
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_USER:-unknown}" "$1" "$2" "$3" >>"$state/restores.tsv"
printf 'would restore %s on %s as of %s (simulated)\n' "$1" "$2" "$3"
