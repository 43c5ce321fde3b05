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
"$venv/bin/register_new_matrix_user" -c "$demo/hs.yaml" -u demo-admin -p "$password" --admin "http://127.0.0.1:$port" >/dev/null 2>&1 || true

# The bot answers a whole room; exempt it from the per-account message rate
# limit (Synapse's stock 0.2 messages/s would make a busy room wait minutes).
# The bot still honours any limit it meets (it waits as long as Synapse asks).
"$venv/bin/python" - "http://127.0.0.1:$port" "$password" <<'PY'
import json, sys, urllib.request
base, password = sys.argv[1], sys.argv[2]
def call(method, path, body, token=None):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(request, timeout=10))
login = call("POST", "/_matrix/client/v3/login",
             {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "demo-admin"},
              "password": password})
call("POST", "/_synapse/admin/v1/users/@opsbot:localhost/override_ratelimit",
     {"messages_per_second": 0, "burst_count": 0}, login["access_token"])
call("POST", "/_matrix/client/v3/logout", {}, login["access_token"])
PY

cat >"$demo/matrix.yaml" <<YAML
homeserver: http://127.0.0.1:$port
user: "@opsbot:localhost"
password: "$password"
data_dir: $PWD/$demo/bot
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
