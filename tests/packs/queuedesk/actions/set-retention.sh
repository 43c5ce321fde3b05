#!/bin/sh
ms=$(( $2 * 1000 ))
echo "Would run: kafka-configs --alter --entity-type topics --entity-name $1 --add-config retention.ms=$ms (cluster $3)"
printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$OPSBOT_STATE_DIR/retention.tsv"
echo "Retention of $1 set to $2 seconds in $3 (simulated)."
