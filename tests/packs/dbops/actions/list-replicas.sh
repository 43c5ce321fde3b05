#!/usr/bin/env bash
# Test lookup: the replicas of a cluster, one per line, from a fixed made-up
# list. Reads and writes nothing.
set -euo pipefail
case "$1" in
  pg-main) printf 'pg-main-r1\npg-main-r2\n' ;;
  pg-analytics) printf 'pg-analytics-r1\n' ;;
  *) echo "unknown cluster $1" >&2; exit 1 ;;
esac
