//! The project checks' diagnostics pinned down whole: one project with a
//! mistake in nearly every field the checks look at, its report compared line
//! for line, so restructuring the checks keeps every message, position and order.

use std::path::Path;

use crate::SpecError;

const SETTINGS: &str = r#"name: t
confidence_threshold: 1.5
threshold_target: sometimes
ambiguity_margin: 2
encoder: bert
groups:
  ops: [ada]
  "bad group": [bob]
people:
  ada: ["@ada:x", "@shared:x"]
  bob: ["@shared:x"]
  "bad person": ["@c:x"]
time_zone: Mars/Olympus
time_zones:
  ada: Nowhere/City
progress_every: 2h
programs_outside_project: [relative/path, /nonexistent/prog]
redact: ["(", ".*"]
rate_limit: {executions: 0, per: 1m}
pending_expiry: 1s
carry_over_expiry: soon
confirmation_expiry: 100d
review:
  keep: 5m
  max_entries: 0
  below_confidence: 3
health_listen: nowhere
"#;

const INTENTS: &str = r#"entities:
  host:
    pattern: '[a-z]+-[0-9]+'
    values: {web: []}
  empty:
    pattern: 'x*'
  bad re:
    pattern: '[a-z'
  typed:
    type: duration
    values: {notaduration: []}
  weird:
    type: colour
  both:
    pattern: 'a+'
    type: integer
  nothing:
    description: nothing
  service:
    values: {nginx: [], "-rf": []}
  flavour:
    values: {small: [], large: []}
intents:
  restart:
    examples:
      - restart [nginx](service) on [web-01](host)
      - restart [x](unknown)
      - restart [-x](service)
      - restart [[
  out_of_scope:
    examples: [hello]
  empty_one:
    examples: []
  deploy:
    examples:
      - deploy [small](flavour) for [10 minutes](duration)
  lookup:
    examples: [look it up]
  audit:
    examples: [show the audit]
  replyer:
    examples: [say hi]
  orphan:
    examples: [nobody answers]
  outside:
    examples: [run outside]
  shown:
    examples: [show who]
  fine:
    examples: [all fine]
out_of_scope:
  - what's the weather
  - the [x](nope) one
"#;

const MORE_INTENTS: &str = r#"entities:
  host:
    values: {a: []}
intents:
  restart:
    examples: [again]
"#;

const DIALOGS: &str = r#"dialogs:
  restart:
    allow: [ada, "group:nogroup"]
    rooms: ["!r:x"]
    require:
      - when: {nosuch: ".*"}
        groups: [ops]
      - when: {}
        groups: []
    approval:
      groups: []
      when: {ghost: x}
    two_factor: true
    slots:
      - entity: service
      - entity: host
        name: user
        prompt: Which host?
      - entity: service
        prompt: Again?
      - entity: nohost
        prompt: Which?
      - entity: duration
        name: wait
        prompt: How long?
        min: 10 minutes
        max: 5 minutes
        direction: past
        default: forever
      - entity: flavour
        prompt: Which flavour?
        within: 3 days
        values_from: ""
    confirm: Restart {service} on {hots}?
    running: "Running {wait.seconds} {nope}"
    success: "{output} {bad}"
    action:
      program: actions/missing.sh
      args: ["{service}", "{zzz}"]
      env: {lower: "{service}", GOOD: "{nope}"}
      timeout: soon
      workdir: nowhere
  restart2:
    intent: restart
    description: again
    reply: hi
  deploy:
    description: deploy
    action:
      program: actions/notexec.sh
      timeout: 100d
    preview:
      show_audit: {intent: deploy}
    slots:
      - entity: flavour
        prompt: Which?
        values_from: {file: "../{flavour}.txt"}
  lookup:
    description: look
    reply: "{capabilities} {nope}"
    approval: {groups: [ops]}
    preview:
      program: actions/ok.sh
  audit:
    description: audit
    read_only: true
    schedulable: true
    allow: ["*"]
    action:
      show_audit: {intent: nosuch, user: "{x}"}
  audit2:
    intent: replyer
    description: both
    reply: hi
    action:
      program: /bin/sh
      args: ["-c", "echo {x}"]
  fine:
    description: fine
    reply: hi
  ghost:
    description: ghost
    confirm: "{oops"
  ghost2:
    intent: empty_one
    description: neither
  twice:
    intent: audit
    description: two of them
    allow: ["*"]
    confirm: sure?
    action:
      program: actions/ok.sh
      show_audit: {}
"#;

const MORE_DIALOGS: &str = r#"dialogs:
  restart:
    description: defined again
    reply: hi
  fine:
    description: fine again
    reply: hi
  limits:
    intent: deploy
    description: limits
    allow: ["group:ops"]
    read_only: true
    slots:
      - entity: flavour
        prompt: Which?
        min: 3
        direction: up
        values_from: "actions/notexec.sh {nope}"
      - entity: duration
        prompt: How long?
        within: forever
        direction: sideways
    action:
      program: actions/ok.sh
      env: {"1BAD": x}
      timeout: 1ms
  outside:
    description: outside
    allow: ["*"]
    read_only: true
    action:
      program: /bin/sh
      args: ["-c", "echo {x}"]
  shown:
    description: shown
    allow: ["*"]
    read_only: true
    action:
      show_audit: {intent: restart, user: "{x}", since: "{y}"}
"#;

fn report(root: &Path) -> String {
    for folder in ["intents", "dialogs", "actions"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    std::fs::write(root.join("opsbot.yaml"), SETTINGS).unwrap();
    std::fs::write(root.join("intents/a.yaml"), INTENTS).unwrap();
    std::fs::write(root.join("intents/b.yaml"), MORE_INTENTS).unwrap();
    std::fs::write(root.join("dialogs/a.yaml"), DIALOGS).unwrap();
    std::fs::write(root.join("dialogs/b.yaml"), MORE_DIALOGS).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for (name, mode) in [("ok.sh", 0o755), ("notexec.sh", 0o644)] {
        let path = root.join("actions").join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    match crate::load_project(root) {
        Err(SpecError::Invalid(diagnostics)) => diagnostics.to_string(),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn every_check_says_what_it_said_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let said = report(dir.path());
    let expected = EXPECTED.trim();
    let said_lines: Vec<&str> = said.lines().collect();
    let expected_lines: Vec<&str> = expected.lines().collect();
    for (i, (s, e)) in said_lines.iter().zip(&expected_lines).enumerate() {
        assert_eq!(s, e, "line {}", i + 1);
    }
    assert_eq!(said_lines.len(), expected_lines.len(), "{said}");
}

const EXPECTED: &str = r#"
dialogs/a.yaml:2:3: dialog `restart` has no `description`; expected one line for help, e.g. "restart a service on a host"
dialogs/a.yaml:3:5: unknown group `nogroup`; expected one of bad group or ops (define groups in opsbot.yaml)
dialogs/a.yaml:6:9: requirement names unknown slot `nosuch`; expected one of service, user, service, nohost, wait or flavour
dialogs/a.yaml:8:9: requirement needs `when: {slot: pattern}` and `groups: [...]`
dialogs/a.yaml:10:5: approval names no groups; expected `groups: [approvers]`
dialogs/a.yaml:10:5: approval names unknown slot `ghost`; expected one of service, user, service, nohost, wait or flavour
dialogs/a.yaml:15:9: slot `service` has no `prompt`; expected a question such as "Which service?" (or a `default`)
dialogs/a.yaml:16:9: `user` is not a usable slot name; expected letters, digits, '_' or '-', not one of user, room, bot, output, exit_code or duration
dialogs/a.yaml:19:9: slot `service` appears twice in dialog `restart`; expected unique slot names (use `name:` to tell them apart)
dialogs/a.yaml:21:17: slot `nohost` uses unknown entity `nohost`; expected one of bad re, both, duration, empty, flavour, host, nothing, service, typed or weird
dialogs/a.yaml:26:14: `min` of slot `wait` is above its `max`; expected min ≤ max
dialogs/a.yaml:28:20: `direction` of slot `wait` applies to datetime slots; its entity `duration` is of type duration
dialogs/a.yaml:29:18: default of slot `wait` is invalid: “forever” is not a duration like 10 minutes, 2h or an hour and a half
dialogs/a.yaml:32:17: `within` of slot `flavour` applies to datetime slots; its entity `flavour` is a list of values
dialogs/a.yaml:33:22: `values_from` is empty; expected a command such as `actions/list-replicas.sh {cluster}` or `{file: data/values.txt}`
dialogs/a.yaml:34:35: template names unknown slot `hots`; expected one of service, user, service, nohost, wait, flavour, wait.seconds, wait.minutes, wait.iso, wait.text, user, room or bot
dialogs/a.yaml:35:38: template names unknown slot `nope`; expected one of service, user, service, nohost, wait, flavour, wait.seconds, wait.minutes, wait.iso, wait.text, user, room or bot
dialogs/a.yaml:36:24: template names unknown slot `bad`; expected one of service, user, service, nohost, wait, flavour, wait.seconds, wait.minutes, wait.iso, wait.text, user, room, bot, output, exit_code or duration
dialogs/a.yaml:38:16: program `actions/missing.sh` does not exist; expected a path relative to the project root
dialogs/a.yaml:39:28: template names unknown slot `zzz`; expected one of service, user, service, nohost, wait, flavour, wait.seconds, wait.minutes, wait.iso, wait.text, user, room or bot
dialogs/a.yaml:40:20: `lower` is not an environment variable name; expected capitals, digits and '_'
dialogs/a.yaml:40:40: template names unknown slot `nope`; expected one of service, user, service, nohost, wait, flavour, wait.seconds, wait.minutes, wait.iso, wait.text, user, room or bot
dialogs/a.yaml:41:16: `soon` is not a timeout; expected a duration such as `30s` or `5m`
dialogs/a.yaml:42:16: workdir `nowhere` is not a folder; expected a path relative to the project root
dialogs/a.yaml:43:3: intent `restart` already starts dialog `restart`; expected one dialog per intent
dialogs/a.yaml:47:3: dialog `deploy` runs an action but does not say who may run it; expected `allow: [user, ...]` or `allow: ["*"]`
dialogs/a.yaml:47:3: dialog `deploy` runs an action without `confirm`; expected a confirmation template, or `read_only: true` if it changes nothing
dialogs/a.yaml:50:16: program `actions/notexec.sh` is not executable; expected `chmod +x actions/notexec.sh`
dialogs/a.yaml:51:16: timeout `100d` is out of range; expected between 100ms and 1day
dialogs/a.yaml:52:5: `preview` must run a `program`; expected `program:` and `args:`
dialogs/a.yaml:57:29: the file `../{flavour}.txt` would be looked up in `..`, outside the project folder; expected a path relative to the project root without `..`, such as `data/replicas/{cluster}.txt`
dialogs/a.yaml:58:3: dialog `lookup` only replies, so `approval`, `two_factor` and `require` have nothing to guard; expected them on dialogs with an action
dialogs/a.yaml:60:28: template names unknown slot `nope`; expected one of user, room, bot or capabilities
dialogs/a.yaml:62:5: dialog `lookup` has a `preview` but no `action`; a preview shows what the action would do
dialogs/a.yaml:67:18: dialog `audit` changes nothing, so `schedulable` has nothing to run later; expected it on dialogs whose action changes something (a lookup runs as things are now)
dialogs/a.yaml:70:28: `show_audit` names unknown intent `nosuch`; expected an intent under intents/
dialogs/a.yaml:71:3: dialog `audit2` has both `action` and `reply`; expected one of them
dialogs/a.yaml:81:3: dialog `ghost` starts on intent `ghost`, which no file under intents/ defines; expected one of audit, deploy, empty_one, fine, lookup, orphan, out_of_scope, outside, replyer, restart or shown
dialogs/a.yaml:81:3: dialog `ghost` has neither `action` nor `reply`; expected what the bot should do
dialogs/a.yaml:83:15: '{' is never closed; expected `{slot_name}` (write `{{` for a literal brace)
dialogs/a.yaml:84:3: dialog `ghost2` has neither `action` nor `reply`; expected what the bot should do
dialogs/a.yaml:87:3: intent `audit` already starts dialog `audit`; expected one dialog per intent
dialogs/a.yaml:92:5: action of dialog `twice` must have exactly one of `program` or `show_audit`
dialogs/b.yaml:2:3: intent `restart` already starts dialog `restart2`; expected one dialog per intent
dialogs/b.yaml:5:3: dialog `fine` is defined twice; expected each dialog once
dialogs/b.yaml:8:3: intent `deploy` already starts dialog `deploy`; expected one dialog per intent
dialogs/b.yaml:16:14: `min` of slot `flavour` applies to integer, number and duration slots; its entity `flavour` is a list of values
dialogs/b.yaml:17:20: `direction` of slot `flavour` applies to datetime slots; its entity `flavour` is a list of values
dialogs/b.yaml:18:22: program `actions/notexec.sh` is not executable; expected `chmod +x actions/notexec.sh`
dialogs/b.yaml:18:22: template names unknown slot `nope`; expected one of flavour, duration, duration.seconds, duration.minutes, duration.iso, duration.text, user, room or bot
dialogs/b.yaml:19:9: `duration` is not a usable slot name; expected letters, digits, '_' or '-', not one of user, room, bot, output, exit_code or duration
dialogs/b.yaml:21:17: `within` of slot `duration` applies to datetime slots; its entity `duration` is of type duration
dialogs/b.yaml:22:20: `direction` of slot `duration` applies to datetime slots; its entity `duration` is of type duration
dialogs/b.yaml:25:21: `1BAD` is not an environment variable name; expected capitals, digits and '_'
dialogs/b.yaml:26:16: timeout `1ms` is out of range; expected between 100ms and 1day
dialogs/b.yaml:32:16: program `/bin/sh` lies outside the project folder; expected a script under the project, or list it in `programs_outside_project:` in opsbot.yaml
dialogs/b.yaml:32:16: action runs `sh` with `-c`, i.e. a command string a shell or interpreter parses, which is exactly what opsbot never does with chat values; expected a script file under the project (or set `unsafe_shell_command_string: true` on this action if you accept the risk)
dialogs/b.yaml:33:26: template names unknown slot `x`; expected one of user, room or bot
dialogs/b.yaml:39:44: template names unknown slot `x`; expected one of user, room or bot
dialogs/b.yaml:39:58: template names unknown slot `y`; expected one of user, room or bot
intents/a.yaml:4:14: value `web` of entity `host` does not match its pattern; expected values the pattern accepts
intents/a.yaml:6:14: pattern of entity `empty` matches the empty string; expected a pattern that needs at least one character
intents/a.yaml:7:3: `bad re` is not a valid entity name; expected letters, digits, '_' or '-'
intents/a.yaml:8:14: pattern of entity `bad re` is not a valid regular expression (unclosed character class); expected Rust regex syntax
intents/a.yaml:11:14: value `notaduration` of entity `typed` is not a duration like 10 minutes, 2h or an hour and a half; expected values of its type
intents/a.yaml:13:11: entity `weird` has unknown type `colour`; expected one of integer, number, duration, datetime, ip, hostname, url, email, semver or matrix_user
intents/a.yaml:14:3: entity `both` has both `pattern` and `type`; expected one of them
intents/a.yaml:17:3: entity `nothing` has neither `pattern`, `type` nor `values`; expected at least one, so its values can be validated
intents/a.yaml:20:25: value `-rf` of entity `service` starts with '-', so a program could take it for an option (no value starting with '-' is ever accepted); expected a value without a leading '-'
intents/a.yaml:27:21: unknown entity `unknown` in annotation; expected one of bad re, both, duration, empty, flavour, host, nothing, service, typed or weird
intents/a.yaml:28:22: annotated value `-x` starts with '-', so a program could take it for an option (no value starting with '-' is ever accepted); expected a value without a leading '-'
intents/a.yaml:29:17: '[' is never closed; expected `[value](entity)` (write `\[` for a literal bracket)
intents/a.yaml:30:3: `out_of_scope` is not a usable intent name; expected letters, digits, '_' or '-' (and not `out_of_scope`, which is reserved)
intents/a.yaml:30:3: intent `out_of_scope` has no dialog; expected a dialog under dialogs/ with `intent: out_of_scope` (or `nlu_only: true` in opsbot.yaml, to train and evaluate intents without a bot)
intents/a.yaml:32:3: intent `empty_one` has no examples; expected a list under `examples:`
intents/a.yaml:43:3: intent `orphan` has no dialog; expected a dialog under dialogs/ with `intent: orphan` (or `nlu_only: true` in opsbot.yaml, to train and evaluate intents without a bot)
intents/a.yaml:53:13: unknown entity `nope` in annotation; expected one of bad re, both, duration, empty, flavour, host, nothing, service, typed or weird
intents/b.yaml:2:3: entity `host` is already defined in intents/a.yaml; expected each entity once
intents/b.yaml:5:3: intent `restart` is already defined in intents/a.yaml; expected each intent once
opsbot.yaml:2:23: confidence_threshold 1.5 is out of range; expected a number from 0 to 1
opsbot.yaml:3:19: threshold_target `sometimes` is not understood; expected `balanced` or `refuse at most N%` with N from 0 to 50 (of the messages the model reads right)
opsbot.yaml:4:19: ambiguity_margin 2 is out of range; expected a number from 0 to 1 (0 never asks)
opsbot.yaml:5:10: unknown encoder `bert`; expected `all-MiniLM-L6-v2` (the default) or `none` (n-gram features only)
opsbot.yaml:8:3: `bad group` is not a valid group name; expected letters, digits, '_' or '-'
opsbot.yaml:11:3: id `@shared:x` is listed for both `ada` and `bob`; expected each id to belong to one person
opsbot.yaml:12:3: `bad person` is not a valid person name; expected letters, digits, '_' or '-'
opsbot.yaml:13:12: `Mars/Olympus` is not a time zone; expected an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`
opsbot.yaml:15:8: `Nowhere/City` is not a time zone; expected an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`
opsbot.yaml:16:17: progress_every `2h` is not a duration from 1s to 1h; expected e.g. `5s`, or `off`
opsbot.yaml:17:28: `relative/path` is not an existing absolute path; expected e.g. `/usr/bin/systemctl`
opsbot.yaml:17:43: `/nonexistent/prog` is not an existing absolute path; expected e.g. `/usr/bin/systemctl`
opsbot.yaml:18:10: redaction pattern is not a valid regular expression (unclosed group); expected Rust regex syntax
opsbot.yaml:18:15: redaction pattern `.*` matches the empty string, so it would write [redacted] between every character of every audit message; expected a pattern that needs at least one character
opsbot.yaml:19:1: rate_limit is invalid; expected `executions:` above 0 and `per:` a duration such as `1m`
opsbot.yaml:20:17: pending_expiry `1s` is out of range; expected between 5s and 7days
opsbot.yaml:21:20: `soon` is not a duration (expected number at 0); expected e.g. `10m` or `90s`
opsbot.yaml:22:22: confirmation_expiry `100d` is out of range; expected between 5s and 7days
opsbot.yaml:24:9: review.keep `5m` is not a duration of at least 1h; expected e.g. `90d`
opsbot.yaml:25:16: review.max_entries is 0; expected at least 1 (or `enabled: false` to record nothing)
opsbot.yaml:26:21: review.below_confidence 3 is out of range; expected a number from 0 to 1 (0 records no understood message)
opsbot.yaml:27:16: `nowhere` is not an address with a port; expected e.g. `127.0.0.1:9096`
"#;

/// A minimal project whose one dialog says `schedulable:` as written.
fn schedulable_report(schedulable: &str) -> Result<crate::Project, String> {
    mini_report("name: t\n", schedulable)
}

/// A minimal project with `settings` as its `opsbot.yaml` and one dialog
/// (`deploy`) saying `schedulable:` as written.
fn mini_report(settings: &str, schedulable: &str) -> Result<crate::Project, String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for folder in ["intents", "dialogs", "actions"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    std::fs::write(root.join("opsbot.yaml"), settings).unwrap();
    std::fs::write(
        root.join("intents/a.yaml"),
        "intents:\n  deploy:\n    examples: [deploy it, deploy the app, ship it]\n",
    )
    .unwrap();
    let dialogs = format!(
        "dialogs:\n  deploy:\n    description: deploy the app\n    allow: [\"*\"]\n    schedulable: {schedulable}\n    confirm: I will deploy. Shall I go ahead?\n    action:\n      program: actions/ok.sh\n"
    );
    std::fs::write(root.join("dialogs/a.yaml"), dialogs).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let path = root.join("actions/ok.sh");
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    crate::load_project(root).map_err(|e| match e {
        SpecError::Invalid(diagnostics) => diagnostics.to_string(),
        other => other.to_string(),
    })
}

#[test]
fn schedulable_says_what_happens_when_due() {
    use crate::project::{Missed, WhenDue};
    let plain = schedulable_report("true").unwrap();
    assert!(plain.dialogs["deploy"].schedulable);
    assert_eq!(plain.dialogs["deploy"].when_due, WhenDue::default());
    let off = schedulable_report("false").unwrap();
    assert!(!off.dialogs["deploy"].schedulable);
    let options = schedulable_report("{missed: ask, grace: 30m, confirm_when_due: true}").unwrap();
    let deploy = &options.dialogs["deploy"];
    assert!(deploy.schedulable);
    assert_eq!(
        deploy.when_due,
        WhenDue {
            missed: Missed::Ask,
            grace: std::time::Duration::from_secs(1800),
            confirm: true
        }
    );
    assert_eq!(
        schedulable_report("{missed: later, grace: 2s}").unwrap_err(),
        "dialogs/a.yaml:5:27: `missed: later` is not a policy; expected `run`, `skip` or `ask`\n\
         dialogs/a.yaml:5:41: grace `2s` is not a duration from 1m to 24h; expected e.g. `10m`"
    );
    let wrong = schedulable_report("sometimes").unwrap_err();
    assert!(wrong.contains("dialogs/a.yaml:5"), "{wrong}");
    assert!(
        wrong.contains(
            "expected `true`, `false`, or a mapping with `missed`, `grace` or `confirm_when_due`"
        ),
        "{wrong}"
    );
    let unknown = schedulable_report("{when: later}").unwrap_err();
    assert!(unknown.contains("dialogs/a.yaml:5"), "{unknown}");
    assert!(unknown.contains("unknown field `when`"), "{unknown}");
}

#[test]
fn api_tokens_are_checked_at_their_line() {
    let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    let good = format!(
        "name: t\napi:\n  tokens:\n    - name: ci\n      sha256: {hash}\n      person: \"@priya:x\"\n      room: \"!ops:x\"\n      scopes: [changes, reads]\n      dialogs: [deploy]\n"
    );
    let project = mini_report(&good, "false").unwrap();
    let api = project.settings.api.unwrap();
    assert_eq!(api.listen.to_string(), crate::api::DEFAULT_LISTEN);
    let token = &api.tokens[0];
    assert!(token.changes && token.reads);
    assert_eq!(token.dialogs.as_deref(), Some(&["deploy".to_string()][..]));
    assert_eq!(hex::encode(token.sha256), hash);

    let bad = format!(
        "name: t\nalerts:\n  listen: 127.0.0.1:9200\n  token_env: T\napi:\n  listen: 127.0.0.1:9200\n  tokens:\n    - name: ci\n      sha256: hunter2hunter2hunter2\n      person: p\n      room: r\n    - name: ci\n      sha256: {hash}\n      person: p\n      room: r\n      scopes: [admin]\n      dialogs: [nuke]\n      per_minute: 0\n      people: [\"kim x\"]\n    - name: half\n"
    );
    let report = mini_report(&bad, "false").unwrap_err();
    let expected = "\
opsbot.yaml:6:11: `127.0.0.1:9200` is already the alerts or health listener's address; give the API a port of its own
opsbot.yaml:9:15: sha256 is not 64 hexadecimal digits; expected the SHA-256 of the token in hex (`printf %s \"$TOKEN\" | sha256sum`), never the token itself
opsbot.yaml:12:13: a second token is named `ci`; names tell proposers apart in the audit
opsbot.yaml:16:16: unknown scope `admin`; expected `changes` (proposed, confirmed by the person) or `reads` (read-only dialogs answered)
opsbot.yaml:17:17: no dialog is named `nuke`; expected one of the dialogs in dialogs/
opsbot.yaml:18:19: per_minute is 0; expected at least 1 (remove the token to shut it out)
opsbot.yaml:19:16: `kim x` is not a chat user id; expected one like `@kim:example.org`
opsbot.yaml:20:7: token 3 has no `name, sha256, person or room`; every token needs name, sha256, person and room";
    assert_eq!(report, expected);
}
