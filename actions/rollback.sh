#!/usr/bin/env bash
# Example action: rolls APP in ENVIRONMENT back to the version deployed before the
# current one, as recorded in the state folder's deploys.tsv.
set -euo pipefail
app=$1
environment=$2
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}
log="$state/deploys.tsv"
versions=()
if [[ -f $log ]]; then
  while IFS=$'\t' read -r _ _ a v e; do
    if [[ $a == "$app" && $e == "$environment" ]]; then versions+=("$v"); fi
  done <"$log"
fi
count=${#versions[@]}
if ((count < 2)); then
  printf 'There is no earlier version of %s in %s to roll back to.\n' "$app" "$environment"
  exit 1
fi
current=${versions[count - 1]}
previous=${versions[count - 2]}
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_USER:-unknown}" "$app" "$previous" "$environment" >>"$log"
printf 'Rolled %s in %s back from %s to %s.\n' "$app" "$environment" "$current" "$previous"
