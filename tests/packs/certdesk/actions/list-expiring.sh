#!/bin/sh
# Stand-in for an inventory query: a fixed table, nothing is contacted.
days="$1"
case "$days" in
  ''|*[!0-9]*) printf 'Not a number of days: %s\n' "$days" >&2; exit 2 ;;
esac
out=""
while read -r name left; do
  if [ "$left" -le "$days" ]; then
    out="$out
- $name in $left days"
  fi
done <<TABLE
auth.example.com 5
status.example.com 9
shop.example.com 12
grafana.example.net 38
api.example.com 45
mail.example.com 200
TABLE
if [ -z "$out" ]; then
  printf 'No certificate expires within %s days.\n' "$days"
else
  printf 'Certificates expiring within %s days:%s\n' "$days" "$out"
fi
