#!/usr/bin/env bash
# Example action: pretends to restart SERVICE on HOST. It only appends a line to
# the bot's state folder and says what it did; the host is text, never contacted.
set -euo pipefail
service=$1
host=$2
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}
mkdir -p "$state"
printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_USER:-unknown}" "$service" "$host" >>"$state/restarts.tsv"
printf 'restarted %s on %s (simulated)\n' "$service" "$host"
