#!/bin/sh
echo "Would run: kafka-topics --alter --topic $1 --partitions $2 (cluster $3)"
printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$OPSBOT_STATE_DIR/partitions.tsv"
echo "$1 now has $2 partitions in $3 (simulated)."
