#!/bin/sh
# $1 since (unix seconds), $2 since as text. Reads a sample failure log.
since=$1
out=$(awk -F '\t' -v since="$since" '$1 >= since { printf "- %s failed at %s: %s\n", $2, $3, $4 }' \
  "$OPSBOT_PROJECT_DIR/data/lookups/failures.tsv")
if [ -z "$out" ]; then echo "No jobs failed since $2."; else printf 'Jobs that failed since %s:\n%s\n' "$2" "$out"; fi
