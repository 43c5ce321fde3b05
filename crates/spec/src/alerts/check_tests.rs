//! The `alerts:` checks' diagnostics pinned down whole: one section with a
//! mistake in nearly every field, its report compared line for line, so
//! restructuring the checks keeps every message, position and order.

const SETTINGS: &str = r#"name: t
groups:
  ops: [ada]
alerts:
  listen: 0.0.0.0:9095
  token_env: T
  token_file: /run/t
  hmac_secret_env: " "
  max_body: 10
  max_connections: 1
  read_timeout: forever
  context_window: 48h
  quiet_hours:
    - rooms: ["!r:x"]
      from: "25:00"
      to: "07:00"
  hooks:
    "bad hook":
      labels: {alertname: "{unclosed"}
  mute:
    allow: [group:nobody]
  routes:
    - name: web
      rooms: []
      match_re: {job: "[a-"}
      min_severity: dire
      slots:
        host: "{labels.instance | nofilter}"
        ghost: "{labels.instance}"
      rate_limit: {messages: 0, per: soon}
      mention: {file: data/rota.tsv, match: "{labels.team}", column: 0}
      summary: "{unclosed"
    - name: web
      rooms: ["", "!ok:x"]
      mention: {file: data/missing.tsv, match: "{labels.team}", column: 2}
    - rooms: ["!ok:x"]
      mention: {file: data/rota.tsv, match: "{oops", column: 2}
"#;

/// A listener that names no secret, and a route filling a slot no dialog has
/// (checked only once the section holds settings).
const UNGUARDED: &str = r#"name: t
alerts:
  routes:
    - name: web
      rooms: ["!ok:x"]
      slots:
        host: "{labels.instance | host}"
        ghost: "{labels.instance}"
"#;

fn report(root: &std::path::Path, settings: &str) -> String {
    for folder in ["intents", "dialogs", "data"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    std::fs::write(root.join("opsbot.yaml"), settings).unwrap();
    std::fs::write(root.join("data/rota.tsv"), "web\tada\n").unwrap();
    std::fs::write(
        root.join("intents/a.yaml"),
        "entities:\n  host:\n    values: {web: []}\nintents:\n  hello:\n    examples:\n      - hello on [web](host)\n",
    )
    .unwrap();
    std::fs::write(
        root.join("dialogs/a.yaml"),
        "dialogs:\n  hello:\n    description: say hello\n    slots:\n      - entity: host\n        prompt: Which?\n    reply: hi\n",
    )
    .unwrap();
    match crate::load_project(root) {
        Err(crate::SpecError::Invalid(diagnostics)) => diagnostics.to_string(),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn every_alert_check_says_what_it_said_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut said = report(dir.path(), SETTINGS);
    let dir = tempfile::tempdir().unwrap();
    said.push('\n');
    said.push_str(&report(dir.path(), UNGUARDED));
    let expected = EXPECTED.trim();
    let said_lines: Vec<&str> = said.lines().collect();
    let expected_lines: Vec<&str> = expected.lines().collect();
    for (i, (s, e)) in said_lines.iter().zip(&expected_lines).enumerate() {
        assert_eq!(s, e, "line {}", i + 1);
    }
    assert_eq!(said_lines.len(), expected_lines.len(), "{said}");
}

const EXPECTED: &str = r#"
opsbot.yaml:5:11: `0.0.0.0:9095` is not a loopback address; webhooks carry operational data, so set `listen_beyond_loopback: true` to listen there (and put TLS in front)
opsbot.yaml:7:15: give the token once: `token_env` or `token_file`, not both
opsbot.yaml:8:20: `hmac_secret_env` is empty; expected the name of an environment variable
opsbot.yaml:9:13: max_body 10 is out of range; expected bytes from 1024 to 67108864
opsbot.yaml:10:20: max_connections 1 is out of range; expected 4 to 4096
opsbot.yaml:11:17: read_timeout is not a duration from 100ms to 5m; expected e.g. `10s`
opsbot.yaml:12:19: context_window is not a duration up to 24h; expected e.g. `15m`, or `0s` for replies only
opsbot.yaml:15:13: `25:00` is not a time of day; expected HH:MM in UTC, e.g. `22:00`
opsbot.yaml:18:5: `bad hook` is not a valid hook name; expected letters, digits, '_' or '-' (it is the path /hooks/bad hook)
opsbot.yaml:18:5: hook `bad hook` gives no `alertname` label; expected `labels: { alertname: … }`
opsbot.yaml:19:27: `{unclosed` opens a `{` it does not close
opsbot.yaml:21:5: unknown group `nobody`; expected one of ops (define groups in opsbot.yaml)
opsbot.yaml:23:7: route `web` names no rooms; expected `rooms:` with at least one room id
opsbot.yaml:25:23: `[a-` is not a valid regular expression (invalid character class range, the start must be <= the end); expected Rust regex syntax
opsbot.yaml:26:21: unknown severity `dire`; expected one of info, warning, error, critical
opsbot.yaml:28:15: unknown filter `nofilter`; expected `host`
opsbot.yaml:30:7: rate_limit is invalid; expected `messages:` above 0 and `per:` a duration from 1s to 24h, such as `1m`
opsbot.yaml:31:7: mention column counts from 1; expected e.g. `column: 3`
opsbot.yaml:32:16: `{unclosed` opens a `{` it does not close
opsbot.yaml:33:13: route name `web` is used twice; expected each route to have its own name
opsbot.yaml:34:15: a room id is empty or holds control characters; expected e.g. `!abc:example.org`
opsbot.yaml:35:23: `data/missing.tsv` is not a file in the project; expected a tab-separated rota such as data/oncall.tsv
opsbot.yaml:37:45: `{oops` opens a `{` it does not close
opsbot.yaml:2:1: alerts need a way to authenticate senders; expected `token_env` or `token_file` (a bearer token) and/or `hmac_secret_env` or `hmac_secret_file` (X-Hub-Signature-256)
opsbot.yaml:8:16: route `web` fills a slot `ghost` that no dialog has; expected the name of a dialog's slot
"#;
