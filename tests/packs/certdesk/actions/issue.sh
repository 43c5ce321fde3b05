#!/bin/sh
# Stand-in for issuing a certificate: it only says what it would do.
printf 'Issued a new certificate for %s, valid for %s days (stand-in: no CA was contacted).\n' "$1" "$2"
