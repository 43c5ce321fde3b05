#!/usr/bin/env bash
# Starts a local Synapse on loopback, registers the bot and a demo user, and runs
# `opsbot run` in the foreground: the quickest way to see opsbot in Matrix.
# Everything lives under data/state/matrix-demo; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
demo=data/state/matrix-demo
port=${OPSBOT_DEMO_PORT:-8448}
password=${OPSBOT_DEMO_PASSWORD:-opsbot-demo}
mkdir -p "$demo"

if [[ ! -f $demo/hs.yaml ]]; then
  "$venv/bin/python" -m synapse.app.homeserver --server-name localhost \
    --config-path "$demo/hs.yaml" --data-directory "$demo" --generate-config --report-stats=no >/dev/null
  # Loopback only, on the demo port, and never ask other servers for keys.
  "$venv/bin/python" - "$demo/hs.yaml" "$port" <<'PY'
import sys, yaml
path, port = sys.argv[1], int(sys.argv[2])
config = yaml.safe_load(open(path))
config["listeners"] = [{"port": port, "tls": False, "type": "http", "x_forwarded": False,
                        "bind_addresses": ["127.0.0.1"], "resources": [{"names": ["client"], "compress": False}]}]
config["trusted_key_servers"] = []
config["suppress_key_server_warning"] = True
yaml.safe_dump(config, open(path, "w"))
PY
fi

(cd "$demo" && exec "../../../$venv/bin/python" -m synapse.app.homeserver -c hs.yaml) >"$demo/synapse.log" 2>&1 &
synapse=$!
trap 'kill $synapse 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
  "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/_matrix/client/versions', timeout=2)" 2>/dev/null && break
  sleep 0.3
done

for user in opsbot demo; do
  "$venv/bin/register_new_matrix_user" -c "$demo/hs.yaml" -u "$user" -p "$password" --no-admin "http://127.0.0.1:$port" >/dev/null 2>&1 || true
done

cat >"$demo/matrix.yaml" <<YAML
homeserver: http://127.0.0.1:$port
user: "@opsbot:localhost"
password: "$password"
data_dir: $demo/bot
allow_invites_from: ["@demo:localhost", ":localhost"]
YAML

cat <<TEXT

Synapse is running on http://127.0.0.1:$port (server name: localhost).
Log in with any Matrix client (Element, matrix-commander, nio) as
    user:     @demo:localhost
    password: $password
then invite @opsbot:localhost to a room (or start a DM) and say
    @opsbot restart apache
Ctrl-C stops the bot and the homeserver.

TEXT
cargo run --quiet --release --bin opsbot -- run --config "$demo/matrix.yaml"
