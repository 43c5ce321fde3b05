#!/bin/sh
set -eu
type=$(echo "$2" | tr a-z A-Z)
echo "DNS records of $1 ($type) from the local zone copy (simulated):"
echo "  $1.	300	IN	A	192.0.2.10"
