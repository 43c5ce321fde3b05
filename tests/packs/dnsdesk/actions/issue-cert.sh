#!/bin/sh
set -eu
echo "Would request a new certificate for $1 from $2 for $3."
echo "A new certificate for $1 was issued by $2 for $3 (simulated)."
