#!/bin/sh
printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$1" "${OPSBOT_USER:-?}" >> "$OPSBOT_STATE_DIR/kills.tsv"
echo "Killed the running $1 job (would send a kill to the orchestrator)."
