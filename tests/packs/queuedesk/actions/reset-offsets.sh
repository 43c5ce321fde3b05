#!/bin/sh
# Harmless: only prints and records what it would do.
echo "Would run: kafka-consumer-groups --reset-offsets --group $1 --topic $2 --to-$3 --execute (cluster $4)"
printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OPSBOT_STATE_DIR/offset-resets.tsv"
echo "Offsets of $1 on $2 reset to $3 in $4 (simulated)."
