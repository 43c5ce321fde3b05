#!/usr/bin/env bash
# Example action (read-only): who is on call for TEAM, from data/oncall.tsv.
set -euo pipefail
team=$1
rota="${OPSBOT_PROJECT_DIR:-.}/data/oncall.tsv"
if [[ ! -f $rota ]]; then
  printf 'The on-call rota %s is missing.\n' "$rota"
  exit 1
fi
while IFS=$'\t' read -r t person handle until; do
  [[ $t == \#* || -z $t ]] && continue
  if [[ $t == "$team" ]]; then
    printf '%s (%s) is on call for %s until %s.\n' "$person" "$handle" "$team" "$until"
    exit 0
  fi
done <"$rota"
printf 'Nobody is listed as on call for %s.\n' "$team"
