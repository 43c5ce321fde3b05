#!/bin/sh
echo "Would $1 every consumer of group $2 in $3 (simulated)."
printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$OPSBOT_STATE_DIR/consumers.tsv"
echo "Consumer group $2 ${1}d in $3."
