#!/bin/sh
# Stand-in for the ownership registry: a fixed table.
case "$1" in
  shop.example.com) team=storefront ;;
  api.example.com|status.example.com) team=platform ;;
  auth.example.com) team=identity ;;
  grafana.example.net) team=observability ;;
  mail.example.com) team=workplace ;;
  *) printf 'No owner on record for %s.\n' "$1"; exit 1 ;;
esac
printf '%s is owned by the %s team (#team-%s).\n' "$1" "$team" "$team"
