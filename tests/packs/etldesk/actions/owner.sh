#!/bin/sh
line=$(grep "^$1	" "$OPSBOT_PROJECT_DIR/data/lookups/owners.tsv" | head -n 1)
if [ -z "$line" ]; then echo "I do not know who owns $1."; exit 0; fi
echo "$line" | awk -F '\t' '{ printf "%s is owned by %s (%s).\n", $1, $2, $3 }'
