#!/bin/sh
rm -f "$OPSBOT_STATE_DIR/paused/$1"
printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$1" "${OPSBOT_USER:-?}" >> "$OPSBOT_STATE_DIR/resumes.tsv"
echo "Resumed the $1 pipeline: runs start on schedule again."
