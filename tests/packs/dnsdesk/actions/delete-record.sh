#!/bin/sh
set -eu
type=$(echo "$1" | tr a-z A-Z)
echo "Would delete the $type record of $2 via the DNS provider API."
echo "Deleted the $type record of $2 (simulated)."
