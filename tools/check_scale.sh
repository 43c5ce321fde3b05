#!/usr/bin/env bash
# How long `opsbot check` takes on a project with N distinct annotated values
# (default 20,000): a copy of the database test pack whose backup intent gets
# N examples, each teaching the closed `database` list a new value. The figure
# in the issue-11 note comes from this script.
#   tools/check_scale.sh [N] [path/to/opsbot]
set -euo pipefail
n=${1:-20000}
bin=${2:-target/debug/opsbot}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp -r tests/packs/dbops/. "$dir"
python3 - "$dir" "$n" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(f"{d}/intents/many.yaml", "w") as f:
    f.write("intents:\n  backup_database:\n    examples:\n")
    for i in range(n):
        f.write(f"      - back up the [db{i}x](database) database now\n")
text = open(f"{d}/intents/db.yaml").read()
a, b = text.index("  backup_database:"), text.index("  failover_cluster:")
open(f"{d}/intents/db.yaml", "w").write(text[:a] + text[b:])
PY
start=$(date +%s.%N)
"$bin" --project "$dir" check
end=$(date +%s.%N)
python3 -c "print(f'opsbot check, {$n} distinct annotated values: {$end - $start:.2f} s')"
