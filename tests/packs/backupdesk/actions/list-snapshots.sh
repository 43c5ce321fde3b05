#!/usr/bin/env bash
# Read-only: prints a made-up list of VOLUME's snapshots.
set -euo pipefail
printf 'Snapshots of %s (simulated):\n  %s@2026-11-24T02:00Z\n  %s@2026-11-23T02:00Z\n' "$1" "$1" "$1"
