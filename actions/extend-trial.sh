#!/usr/bin/env bash
# Example action: extends CUSTOMER's trial by DAYS, keeping end dates in the
# bot's state folder (trials.tsv). A trial not seen before ends today.
set -euo pipefail
customer=$1
days=$2
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}
mkdir -p "$state"
file="$state/trials.tsv"
current=$(date -u +%Y-%m-%d)
if [[ -f $file ]]; then
  while IFS=$'\t' read -r c end; do
    if [[ $c == "$customer" ]]; then current=$end; fi
  done <"$file"
fi
new_end=$(date -u -d "$current + $days days" +%Y-%m-%d)
printf '%s\t%s\n' "$customer" "$new_end" >>"$file"
printf "Extended %s's trial by %s days; it now ends on %s.\n" "$customer" "$days" "$new_end"
