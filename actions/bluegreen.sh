#!/usr/bin/env bash
# Example runbook steps: a blue/green deploy, simulated in the bot's state
# folder (bluegreen/APP.*). Nothing leaves this machine.
#   status APP                 prints {"live": …, "idle": …} as JSON
#   install APP COLOUR VERSION puts VERSION on COLOUR
#   health APP COLOUR [--live] prints latency=…ms; fails if not installed
#   switch APP COLOUR          sends APP's traffic to COLOUR
# To show the runbook's other paths, a version ending in -slow answers its
# health check in 900 ms, and one ending in -broken fails it once live.
# Every call is appended to bluegreen/steps.log.
set -euo pipefail
command=${1:?usage: bluegreen.sh status|install|health|switch APP …}
app=${2:?an app is needed}
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}/bluegreen
mkdir -p "$state"
printf '%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OPSBOT_STEP:-}" "$*" >>"$state/steps.log"
live=$(cat "$state/$app.live" 2>/dev/null || echo blue)
other() { if [ "$1" = blue ]; then echo green; else echo blue; fi; }
case $command in
  status)
    printf '{"live": "%s", "idle": "%s"}\n' "$live" "$(other "$live")"
    ;;
  install)
    colour=${3:?a colour is needed}
    version=${4:?a version is needed}
    printf '%s\n' "$version" >"$state/$app.$colour"
    printf 'installed %s %s on %s\n' "$app" "$version" "$colour"
    ;;
  health)
    colour=${3:?a colour is needed}
    version=$(cat "$state/$app.$colour" 2>/dev/null || true)
    if [ -z "$version" ]; then
      printf '%s has nothing installed on %s\n' "$app" "$colour" >&2
      exit 1
    fi
    if [ "${4:-}" = --live ] && [[ $version == *-broken ]]; then
      printf '%s %s on %s answers with errors\n' "$app" "$version" "$colour" >&2
      exit 1
    fi
    if [[ $version == *-slow ]]; then echo "latency=900ms"; else echo "latency=42ms"; fi
    ;;
  switch)
    colour=${3:?a colour is needed}
    printf '%s\n' "$colour" >"$state/$app.live"
    printf 'traffic for %s now goes to %s\n' "$app" "$colour"
    ;;
  *)
    printf 'unknown command %s\n' "$command" >&2
    exit 2
    ;;
esac
