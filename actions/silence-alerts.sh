#!/usr/bin/env bash
# Example action: pretends to silence alerts for HOST for SECONDS (PERIOD is the
# same as an ISO 8601 duration). It only appends a line to the bot's state folder; the host is
# text, never contacted.
set -euo pipefail
host=$1
seconds=$2
period=$3
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}
mkdir -p "$state"
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_USER:-unknown}" "$host" "$seconds" "$period" >>"$state/silences.tsv"
printf 'alerts for %s silenced for %s seconds (simulated)\n' "$host" "$seconds"
