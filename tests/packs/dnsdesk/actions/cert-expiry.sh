#!/bin/sh
# Reads the local inventory only.
set -eu
dir="${OPSBOT_PROJECT_DIR:-.}"
line=$(awk -F'\t' -v d="$1" '$1==d {print $2" (issued by "$3")"}' "$dir/data/lookups/certs.tsv")
if [ -n "$line" ]; then
  echo "The certificate for $1 expires on $line."
else
  echo "I have no certificate for $1 in the inventory."
fi
