#!/bin/sh
# $1 pipeline, $2 period in seconds
hours=$(( $2 / 3600 ))
printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$1" "$2" "${OPSBOT_USER:-?}" >> "$OPSBOT_STATE_DIR/backfills.tsv"
echo "Backfill of $1 for the last $hours hours submitted (would enqueue one run per partition)."
