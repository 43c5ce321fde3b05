#!/bin/sh
# Stand-in for a revocation at the CA: it only says what it would do.
printf 'Revoked the certificate for %s (reason: %s; stand-in: no CA was contacted).\n' "$1" "$2"
