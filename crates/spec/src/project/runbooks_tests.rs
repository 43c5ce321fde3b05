//! A runbook with a mistake in each field the checks look at: every one is
//! named with its file, line and column.

use std::path::Path;

use crate::SpecError;

const INTENTS: &str = r#"entities:
  cluster:
    values:
      main: []
      audit: []
intents:
  fail_over:
    examples:
      - fail over [main](cluster)
      - fail over [audit](cluster) now
      - promote a replica of [main](cluster)
"#;

const DIALOGS: &str = r#"dialogs:
  fail_over:
    description: fail a cluster over
    allow: ["*"]
    slots:
      - entity: cluster
        prompt: Which cluster?
    confirm: Fail {cluster} over?
    steps:
      - name: check-lag
        program: actions/ok.sh
      - name: check
        program: actions/ok.sh
        outputs:
          seconds: {json: lag..seconds}
          bad: {regex: "("}
          both: {json: a, regex: b}
          output: {json: a}
      - name: check
        ask: Go on?
        args: [x]
      - name: promote
        when: steps.check.later > 1
        program: actions/ok.sh
        args: ["{steps.promote.output}"]
        on_failure: rollback
      - name: neither
        when: "cluster =="
        on_failure: sometimes
      - name: both
        program: actions/ok.sh
        ask: Really?
      - name: pause
        wait: soon
      - name: retry
        program: actions/ok.sh
        args: ["{steps.nowhere.x}"]
        until: {every: 1m, within: 10s}
      - name: approved
        ask: Sure?
        approval: {groups: [nobody]}
    rollback:
      - name: undo
        ask: Undo?
        on_failure: rollback
"#;

const EXPECTED: &str = r#"
dialogs/a.yaml:10:15: `check-lag` is not a usable step name; expected letters, digits and '_' (conditions read `steps.check-lag.…`)
dialogs/a.yaml:15:11: `lag..seconds` is not a JSON field path; expected names separated by dots, such as `lag.seconds`
dialogs/a.yaml:16:11: `(` is not a regular expression: regex parse error:
    (
    ^
error: unclosed group
dialogs/a.yaml:17:11: output `both` must have exactly one of `json` (a field path) or `regex`
dialogs/a.yaml:18:11: `output` is not a usable output name; expected letters, digits and '_', not one of output, exit_code, ran or succeeded
dialogs/a.yaml:19:9: step `check` asks a question, so it has no program for `args`, `env`, `timeout`, `workdir` or `outputs`
dialogs/a.yaml:19:15: step `check` is named twice; expected each step (and rollback step) once
dialogs/a.yaml:23:15: step `check` gives no `later`; it gives output, exit_code, bad, both, output, seconds, ran or succeeded
dialogs/a.yaml:25:17: `{steps.promote.output}` is used before step `promote` gives it; a step may use only the values of the steps before it
dialogs/a.yaml:27:9: step `neither` must have exactly one of `program`, `ask` or `wait`
dialogs/a.yaml:28:15: condition `cluster ==` does not parse (An operator expected 2 arguments, but got 1.); expected an expression such as `steps.check_lag.seconds < 5` (text in double quotes)
dialogs/a.yaml:29:21: `sometimes` is not a failure policy; expected `stop`, `continue` or `rollback`
dialogs/a.yaml:30:9: step `both` must have exactly one of `program`, `ask` or `wait`
dialogs/a.yaml:34:15: `soon` is not a duration; expected one such as `30s` or `5m`
dialogs/a.yaml:37:17: there is no step `nowhere`; expected one of check-lag, check, promote, neither, both or pause
dialogs/a.yaml:38:9: step `retry` tries again every 1m but only for 10s; expected `within` at least `every`
dialogs/a.yaml:41:9: unknown group `nobody`; expected one of no values (define groups in opsbot.yaml)
dialogs/a.yaml:41:9: step `approved` has `approval` but is no program step of the runbook (a question, a wait and the rollback are not approved)
dialogs/a.yaml:43:9: rollback step `undo` asks a question; expected rollback steps to be programs (a rollback runs without waiting)
dialogs/a.yaml:45:21: rollback step `undo` cannot roll back; expected `stop` or `continue`
"#;

fn report(root: &Path) -> String {
    for folder in ["intents", "dialogs", "actions"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    std::fs::write(root.join("opsbot.yaml"), "name: t\n").unwrap();
    std::fs::write(root.join("intents/a.yaml"), INTENTS).unwrap();
    std::fs::write(root.join("dialogs/a.yaml"), DIALOGS).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let path = root.join("actions/ok.sh");
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    match crate::load_project(root) {
        Err(SpecError::Invalid(diagnostics)) => diagnostics.to_string(),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn every_runbook_mistake_is_named_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let said = report(dir.path());
    let said: Vec<&str> = said
        .lines()
        .filter(|l| !l.contains("mistake(s) found"))
        .collect();
    let expected: Vec<&str> = EXPECTED.trim().lines().collect();
    assert_eq!(said, expected);
}
