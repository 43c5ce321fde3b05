#!/bin/sh
# Stand-in for an ACME renewal: it only says what it would do; nothing is contacted.
printf 'Renewed the certificate for %s (stand-in: no CA was contacted).\n' "$1"
