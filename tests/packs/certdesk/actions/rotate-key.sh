#!/bin/sh
# Stand-in for rotating an API key in the secret store: it only says what it would do.
printf 'Rotated the API key of %s; the old key stays valid for 24 hours (stand-in: no secret store was touched).\n' "$1"
