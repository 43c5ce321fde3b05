#!/bin/sh
set -eu
dir="${OPSBOT_PROJECT_DIR:-.}"
echo "Certificates expiring within $2 (from the local inventory, as of the inventory date 2026-12-07):"
now=$(date -u -d 2026-12-07 +%s)
awk -F'\t' -v now="$now" -v win="$1" '{ cmd="date -u -d " $2 " +%s"; cmd | getline t; close(cmd); if (t-now <= win) print "• " $1 " on " $2 " (" $3 ")" }' "$dir/data/lookups/certs.tsv"
