//! `opsbot check`: every mistake, with file:line:column, and never a panic.

use crate::util::{stderr, stdout, Fixture};

#[test]
fn the_example_bot_checks_clean() {
    let fixture = Fixture::example();
    let out = fixture.run(&["check"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("ok: 10 intents"),
        "{}",
        stdout(&out)
    );
}

const BROKEN_INTENTS: &str = "\
entities:
  host:
    pattern: '[a-z'
  service:
    values:
      apache: []
intents:
  restart:
    examples:
      - restart [apache](servce) now
      - restart [nginx(service)
      - restart [](service)
";

const BROKEN_DIALOGS: &str = "\
dialogs:
  restart:
    allow: [\"*\"]
    slots:
      - entity: service
      - entity: hostt
        prompt: On which host?
    confirm: Restart {service} on {hots}?
    action:
      program: actions/missing.sh
      timeout: soon
  deploy:
    description: deploy
    reply: hi
";

#[test]
fn every_mistake_is_reported_with_its_position() {
    let fixture = Fixture::example();
    std::fs::remove_dir_all(fixture.path().join("intents")).unwrap();
    std::fs::remove_dir_all(fixture.path().join("dialogs")).unwrap();
    fixture.write("intents/broken.yaml", BROKEN_INTENTS);
    fixture.write("dialogs/broken.yaml", BROKEN_DIALOGS);
    let out = fixture.run(&["check"], "");
    assert_eq!(out.status.code(), Some(1));
    let report = stderr(&out);
    let expected = [
        "intents/broken.yaml:3:14: pattern of entity `host` is not a valid regular expression (unclosed character class); expected Rust regex syntax",
        "intents/broken.yaml:10:26: unknown entity `servce` in annotation; expected one of host or service",
        "intents/broken.yaml:11:17: '[' is never closed; expected `[value](entity)`",
        "intents/broken.yaml:12:17: annotated value is empty; expected `[value](entity)`",
        "dialogs/broken.yaml:2:3: dialog `restart` has no `description`; expected one line for help, e.g. \"restart a service on a host\"",
        "dialogs/broken.yaml:5:9: slot `service` has no `prompt`; expected a question such as \"Which service?\" (or a `default`)",
        "dialogs/broken.yaml:6:17: slot `hostt` uses unknown entity `hostt`; expected one of host or service",
        "dialogs/broken.yaml:8:35: template names unknown slot `hots`; expected one of service, hostt, user, room or bot",
        "dialogs/broken.yaml:10:16: program `actions/missing.sh` does not exist; expected a path relative to the project root",
        "dialogs/broken.yaml:11:16: `soon` is not a timeout; expected a duration such as `30s` or `5m`",
        "dialogs/broken.yaml:12:3: dialog `deploy` starts on intent `deploy`, which no file under intents/ defines; expected one of restart",
    ];
    for line in expected {
        assert!(report.contains(line), "missing\n  {line}\nin\n{report}");
    }
    assert!(
        report.contains("11 mistake(s) found"),
        "exactly these, no follow-on errors: {report}"
    );
    assert!(!report.contains("panicked"));
}

#[test]
fn train_refuses_invalid_data_before_training() {
    let fixture = Fixture::example();
    fixture.write(
        "intents/broken.yaml",
        "intents:\n  restart_service:\n    examples: [oops]\n",
    );
    let out = fixture.run(&["train"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("intents/operations.yaml:4:3: intent `restart_service` is already defined in intents/broken.yaml; expected each intent once"), "{}", stderr(&out));
    assert!(!fixture.path().join("models/intent-model.bin").exists());
}

#[test]
fn malformed_yaml_never_panics() {
    let corpus: &[&str] = &[
        "",
        "# only a comment\n",
        "intents: [\n",
        "intents:\n  a:\n    examples: 'unclosed\n",
        "intents:\n\ta: {}\n",
        "intents: 7\n",
        "- just\n- a list\n",
        "entities:\n  e:\n    pattern: 5\n    values: [1, 2]\n",
        "intents:\n  a:\n    examples:\n      - [[[nested]]]\n",
        "intents:\n  a:\n    examples:\n      - \"[x](e:)\"\n      - \"[x]()\"\n      - \"]](\"\n",
        "&a [*a, *a]\n",
        "intents: &x\n  b: *x\n",
        "\u{0}\u{1}\u{2}binary",
        "intents:\n  a:\n    examples:\n      - \"\u{202e}rtl [value](unknown)\"\n",
        "---\nintents: {}\n---\nintents: {}\n",
        "key: value\nkey: again\n",
    ];
    for (i, text) in corpus.iter().enumerate() {
        let fixture = Fixture::example();
        fixture.write("intents/zz-fuzz.yaml", text);
        let out = fixture.run(&["check"], "");
        let report = stderr(&out);
        assert!(!report.contains("panicked"), "case {i} panicked: {report}");
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "case {i}: {:?}",
            out.status
        );
        if out.status.code() == Some(1) {
            assert!(
                report.contains("zz-fuzz.yaml:"),
                "case {i} names the file: {report}"
            );
        }
    }
}

/// Mistakes in `alerts:`, on both test packs: each named with its position.
#[test]
fn alert_routing_mistakes_are_reported_with_their_position() {
    const BROKEN_ALERTS: &str = "alerts:
  listen: 0.0.0.0:9095
  token_env: T
  token_file: t.txt
  max_body: 10
  routes:
    - name: a
      match_re: { alertname: '(' }
      min_severity: urgent
      rooms: ['!a:x']
    - name: a
      rooms: []
      mention: { file: nope.tsv, match: '{labels.team}', column: 2 }
  hooks:
    ci:
      labels: { pipeline: '{pipeline' }
      group_by: [stage]
";
    for pack in ["dbops", "cicd"] {
        let fixture = Fixture::pack(pack);
        let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
        let kept = settings.split("\nalerts:").next().unwrap();
        let first = kept.lines().count() + 1;
        fixture.write("opsbot.yaml", &format!("{kept}\n{BROKEN_ALERTS}"));
        let out = fixture.run(&["check"], "");
        assert_eq!(out.status.code(), Some(1), "{pack}: {}", stdout(&out));
        let report = stderr(&out);
        let line = |offset: usize| format!("opsbot.yaml:{}:", first + offset);
        for (offset, says) in [
            (1, "`0.0.0.0:9095` is not a loopback address"),
            (3, "give the token once"),
            (4, "max_body 10 is out of range"),
            (7, "`(` is not a valid regular expression"),
            (
                8,
                "unknown severity `urgent`; expected one of info, warning, error, critical",
            ),
            (10, "route name `a` is used twice"),
            (10, "route `a` names no rooms"),
            (12, "`nope.tsv` is not a file in the project"),
            (15, "opens a `{` it does not close"),
            (14, "hook `ci` gives no `alertname` label"),
            (
                16,
                "hook `ci` groups by `stage`, which is none of its labels",
            ),
        ] {
            assert!(
                report
                    .lines()
                    .any(|l| l.contains(&line(offset)) && l.contains(says)),
                "{pack}: expected `{says}` at {}\n{report}",
                line(offset)
            );
        }
    }
}

/// One misspelt field in a dialogs file is one error, at its line: the file's
/// dialogs still claim their intents, so no "intent has no dialog" follows.
#[test]
fn one_bad_field_in_a_dialogs_file_is_one_error_on_two_packs() {
    for (pack, file, field) in [
        ("dbops", "dialogs/db.yaml", "    confirm: I will back up"),
        ("cicd", "dialogs/ci.yaml", "    confirm: "),
    ] {
        let fixture = Fixture::pack(pack);
        let text = std::fs::read_to_string(fixture.path().join(file)).unwrap();
        let line = text.lines().position(|l| l.starts_with(field)).unwrap() + 1;
        let broken = text.replacen(field, &field.replacen("confirm:", "confirmm:", 1), 1);
        fixture.write(file, &broken);
        let out = fixture.run(&["check"], "");
        assert!(!out.status.success());
        let errors = stderr(&out);
        assert!(
            errors.contains(&format!("{file}:{line}")) && errors.contains("confirmm"),
            "{pack}: {errors}"
        );
        assert!(!errors.contains("has no dialog"), "{pack}: {errors}");
        // Not even YAML: the syntax error alone.
        fixture.write(file, &format!("{text}\n  broken: [unclosed\n"));
        let errors = stderr(&fixture.run(&["check"], ""));
        assert!(errors.contains(file), "{pack}: {errors}");
        assert!(!errors.contains("has no dialog"), "{pack}: {errors}");
    }
}

/// An opsbot.yaml that is not valid settings (here a key given twice) is one
/// error naming it, not a cascade of "unknown group" in every dialog.
#[test]
fn an_unreadable_settings_file_is_one_error_on_two_packs() {
    for pack in ["dbops", "cicd"] {
        let fixture = Fixture::pack(pack);
        fixture.append_settings("name: twice\n");
        let out = fixture.run(&["check"], "");
        assert!(!out.status.success(), "{pack}");
        let said = stderr(&out);
        assert!(
            said.contains("opsbot.yaml:") && said.contains("duplicate field `name`"),
            "{pack}: {said}"
        );
        assert!(!said.contains("unknown group"), "{pack}: {said}");
        assert!(said.contains("1 mistake(s) found"), "{pack}: {said}");
    }
}
