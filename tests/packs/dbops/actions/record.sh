#!/usr/bin/env bash
# Test action: records its arguments, one run per line, in the bot's state
# folder; touches nothing else.
set -euo pipefail
state=${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}
mkdir -p "$state"
(IFS=$'\t'; printf '%s\t%s\n' "${OPSBOT_USER:-unknown}" "$*") >>"$state/runs.tsv"
if [ -e "$state/slow" ]; then secs=$(cat "$state/slow"); sleep "${secs:-30}"; fi
echo "ok $*"
