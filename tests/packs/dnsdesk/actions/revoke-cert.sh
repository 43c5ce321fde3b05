#!/bin/sh
set -eu
echo "Would revoke the certificate for $1 at its CA (reason: requested by ${OPSBOT_USER:-someone})."
echo "The certificate for $1 has been revoked (simulated)."
