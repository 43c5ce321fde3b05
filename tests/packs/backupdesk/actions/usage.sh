#!/usr/bin/env bash
# Read-only: prints a made-up usage line for TEAM.
set -euo pipefail
printf '%s uses 312 GiB of its 500 GiB quota (simulated)\n' "$1"
