#!/bin/sh
mkdir -p "$OPSBOT_STATE_DIR/paused"
: > "$OPSBOT_STATE_DIR/paused/$1"
printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$1" "${OPSBOT_USER:-?}" >> "$OPSBOT_STATE_DIR/pauses.tsv"
echo "Paused the $1 pipeline: no new runs will start."
