#!/bin/sh
set -eu
type=$(echo "$1" | tr a-z A-Z)
echo "Would add $type record $2 -> $3 (TTL 300) via the DNS provider API."
echo "Added the $type record $2 -> $3 (simulated)."
