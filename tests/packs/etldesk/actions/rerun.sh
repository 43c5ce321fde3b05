#!/bin/sh
# Stand-in: a real bot would call the orchestrator's API. Only writes locally.
printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$1" "${OPSBOT_USER:-?}" >> "$OPSBOT_STATE_DIR/reruns.tsv"
echo "Rerun of $1 queued (would trigger a new run in the orchestrator)."
