#!/usr/bin/env bash
# Test preview: the changes a promotion would ship, from a fixed made-up list.
# Reads and writes nothing.
set -euo pipefail
echo "3 commits of $1 would go to $2: fix login redirect; bump api client; update docs"
