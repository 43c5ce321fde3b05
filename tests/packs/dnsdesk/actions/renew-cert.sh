#!/bin/sh
# Harmless: only prints what it would do; touches no network.
set -eu
domain="$1"; env="$2"
echo "Would renew the certificate for $domain in $env (ACME order, then deploy to the $env load balancers)."
echo "The certificate for $domain in $env has been renewed (simulated)."
