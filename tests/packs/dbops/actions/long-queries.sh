#!/usr/bin/env bash
# Test preview: the queries kill_queries would end on a database, from a fixed
# made-up list, longer than the given seconds. Reads and writes nothing.
set -euo pipefail
database=$1 older_than=$2
found=0
while read -r pid seconds query; do
  if [ "$seconds" -gt "$older_than" ]; then
    echo "pid $pid on $database, running ${seconds}s: $query"
    found=1
  fi
done <<'ROWS'
4711 10800 SELECT * FROM archive
4733 2520 VACUUM FULL events
4790 95 UPDATE carts SET total = 0
ROWS
if [ "$found" = 0 ]; then echo "no query on $database runs longer than ${older_than}s"; fi
