//! Regression tests for what an attack run found: interrupted actions resolved
//! at start, damaged models refused, limits before work, unsafe settings
//! refused by `opsbot check`, a relative `--project`, terminal-safe audit
//! output and every wrong 2FA code audited. Each runs on the example bot and
//! on the test packs of other domains where the behaviour is not bot-specific.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use opsbot_runtime::ConversationKey;

use crate::util::{stderr, stdout, Fixture};

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// kill -9 while an action runs: the next start of any adapter (here another
/// user's shell) audits "outcome unknown" at once, and the requester hears of
/// it when they come back — on two packs.
#[test]
fn an_action_killed_mid_run_is_audited_at_the_next_start() {
    for (pack, requester, request, other) in [
        ("dbops", "priya", "back up the orders database", "omar"),
        ("cicd", "kim", "rerun the backend pipeline", "raj"),
    ] {
        let fixture = Fixture::trained_pack(pack);
        std::fs::create_dir_all(fixture.state()).unwrap();
        std::fs::write(fixture.state().join("slow"), "").unwrap();
        let mut child = fixture
            .command(&["shell", "--user", requester])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{request}\nyes").unwrap();
        let runs = fixture.state().join("runs.tsv");
        wait_until("the action to start", || runs.exists());
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        child.wait().unwrap();
        std::fs::remove_file(fixture.state().join("slow")).unwrap();

        // Someone else starts a shell and leaves: the interrupted action is
        // resolved and audited now, not when the requester returns.
        let out = fixture.shell(other, &[]);
        assert_eq!(out, "", "{pack}: {other} is told nothing");
        let audit = stdout(&fixture.run(&["audit", "--json"], ""));
        assert!(
            audit.contains("\"outcome\":\"outcome_unknown\""),
            "{pack}: {audit}"
        );
        assert!(
            audit.contains(&format!("\"user\":\"{requester}\"")),
            "{pack}: {audit}"
        );

        // The requester hears of it first thing, once.
        let out = fixture.shell(requester, &[]);
        assert!(
            out.starts_with("I lost track of your request to ")
                && out.contains("I do not know whether it finished"),
            "{pack}: {out}"
        );
        assert_eq!(fixture.shell(requester, &[]), "", "{pack}: told only once");
        let runs = std::fs::read_to_string(runs).unwrap();
        assert_eq!(runs.lines().count(), 1, "{pack}: never re-run: {runs}");
    }
}

/// One damaged byte in a model file: a clear error naming the file from every
/// command that loads it, never a panic, never a model that loads silently.
#[test]
fn damaged_models_are_refused_naming_the_file() {
    let fixture = Fixture::trained();
    for file in ["models/slot-tagger.bin", "models/intent-model.bin"] {
        let path = fixture.path().join(file);
        let good = std::fs::read(&path).unwrap();
        for offset in [0, 20, good.len() / 3, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[offset] ^= 0x01;
            std::fs::write(&path, &bad).unwrap();
            let out = fixture.run(&["shell", "--user", "alice"], "hello\n");
            let err = stderr(&out);
            assert!(!out.status.success(), "{file} byte {offset} loaded");
            assert!(!err.contains("panicked"), "{file} byte {offset}: {err}");
            let name = file.rsplit('/').next().unwrap();
            assert!(err.contains(name), "{file} byte {offset}: {err}");
        }
        std::fs::write(&path, &good).unwrap();
    }
    // A running bot asked to reload keeps the model it has.
    let paths = opsbot::app::Paths::new(fixture.path(), Some(&fixture.state()));
    let model = fixture.path().join("models/intent-model.bin");
    let good = std::fs::read(&model).unwrap();
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0x40;
    std::fs::write(&model, &bad).unwrap();
    let reloaded = (opsbot::refresh::reloader(&paths))();
    let Err(error) = reloaded else {
        panic!("a damaged model was reloaded")
    };
    assert!(error.contains("intent-model.bin"), "{error}");
}

/// Training refuses embeddings that are not numbers (a damaged cache) and a
/// model whose held-out accuracy collapsed, unless forced; the old model stays.
#[test]
fn training_refuses_nan_embeddings_and_a_collapsed_model() {
    let fixture = Fixture::trained();
    let model = fixture.path().join("models/intent-model.bin");
    let before = std::fs::read(&model).unwrap();

    // Every cached value becomes NaN; the records keep their keys.
    let cache = fixture.path().join("models/embedding-cache.bin");
    let mut bytes = std::fs::read(&cache).unwrap();
    let mut at = 12;
    while at + 36 <= bytes.len() {
        let dimension = u32::from_le_bytes(bytes[at + 32..at + 36].try_into().unwrap()) as usize;
        for value in bytes[at + 36..at + 36 + dimension * 4].chunks_exact_mut(4) {
            value.copy_from_slice(&f32::NAN.to_le_bytes());
        }
        at += 36 + dimension * 4;
    }
    std::fs::write(&cache, &bytes).unwrap();
    // A retrain is needed: add one example.
    let intents = fixture.path().join("intents/operations.yaml");
    let yaml = std::fs::read_to_string(&intents).unwrap();
    std::fs::write(
        &intents,
        yaml.replace(
            "      - restart a service\n",
            "      - restart a service\n      - cycle a service\n",
        ),
    )
    .unwrap();
    let out = fixture.run(&["train"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not finite"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&model).unwrap(),
        before,
        "the old model stays"
    );

    // Labels dealt round-robin across intents regardless of what the examples
    // say: held-out accuracy collapses to chance.
    std::fs::remove_file(&cache).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    let intents_map = doc["intents"].as_mapping_mut().unwrap();
    let mut all: Vec<serde_yaml::Value> = Vec::new();
    for (_, intent) in intents_map.iter_mut() {
        all.extend(intent["examples"].as_sequence().unwrap().iter().cloned());
    }
    let count = intents_map.len();
    for (i, (_, intent)) in intents_map.iter_mut().enumerate() {
        let dealt: Vec<serde_yaml::Value> = all.iter().skip(i).step_by(count).cloned().collect();
        intent["examples"] = serde_yaml::Value::Sequence(dealt);
    }
    std::fs::write(&intents, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let out = fixture.run(&["train"], "");
    let err = stderr(&out);
    assert!(!out.status.success(), "a collapsed model was written");
    assert!(err.contains("held-out accuracy fell"), "{err}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        before,
        "the old model stays"
    );
    let forced = fixture.run(&["train", "--force"], "");
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(std::fs::read(&model).unwrap(), before);
}

/// A message over the limit is answered before anything reads it, in every
/// conversation state.
#[test]
fn an_oversized_message_is_refused_before_any_work() {
    for fixture in [Fixture::trained(), Fixture::trained_pack("dbops")] {
        let bot = fixture.bot();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let key = ConversationKey::new("ops", "alice");
        for text in [
            "a".repeat(1 << 20),
            "é".repeat(2001),
            format!("approve {}", "f".repeat(3000)),
        ] {
            let mut replies = Vec::new();
            runtime
                .block_on(bot.handle(&key, &text, &mut |r: String| replies.push(r)))
                .unwrap();
            assert_eq!(replies.len(), 1);
            assert!(
                replies[0].contains("I only read messages of up to 2000 characters"),
                "{replies:?}"
            );
        }
    }
}

fn check(fixture: &Fixture) -> String {
    let out = fixture.run(&["check"], "");
    assert!(!out.status.success(), "check passed: {}", stdout(&out));
    format!("{}{}", stdout(&out), stderr(&out))
}

/// Settings that defeat a safety property are refused with file:line.
#[test]
fn check_refuses_unsafe_settings() {
    for pack in ["dbops", "cicd"] {
        let fixture = Fixture::pack(pack);
        let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
        // Its own redaction patterns give way to the hostile ones.
        let settings = settings.split("redact:").next().unwrap();
        fixture.write(
            "opsbot.yaml",
            &format!(
                "{settings}confirmation_expiry: 0s\npending_expiry: 100000h\nredact: ['', 'a*']\n"
            ),
        );
        let report = check(&fixture);
        for expected in [
            "opsbot.yaml:",
            "confirmation_expiry `0s` is out of range",
            "pending_expiry `100000h` is out of range",
            "matches the empty string",
        ] {
            assert!(
                report.contains(expected),
                "{pack}: {expected:?} in {report}"
            );
        }
        assert_eq!(
            report.matches("matches the empty string").count(),
            2,
            "{report}"
        );
    }
    let fixture = Fixture::pack("cicd");
    let dialogs = fixture.path().join("dialogs/ci.yaml");
    let yaml = std::fs::read_to_string(&dialogs).unwrap();
    let hostile = yaml
        .replacen(
            "      program: actions/record.sh\n      args: [rerun, \"{pipeline}\"]",
            "      program: /bin/sh\n      args: [\"-c\", \"echo {pipeline}\"]",
            1,
        )
        .replacen(
            "      program: actions/record.sh\n      args: [promote, \"{pipeline}\", \"{stage}\"]",
            "      program: actions/record.sh\n      args: [promote, \"{pipeline}\", \"{stage}\"]\n      timeout: 1ns",
            1,
        )
        .replacen(
            "      program: actions/record.sh\n      args: [status, \"{pipeline}\"]",
            "      program: /bin/echo\n      args: [status, \"{pipeline}\"]\n      timeout: 100000h",
            1,
        );
    assert_ne!(hostile, yaml);
    fixture.write("dialogs/ci.yaml", &hostile);
    let report = check(&fixture);
    for expected in [
        "dialogs/ci.yaml:",
        "action runs `sh` with `-c`",
        "timeout `1ns` is out of range",
        "timeout `100000h` is out of range",
        "program `/bin/echo` lies outside the project folder",
        "program `/bin/sh` lies outside the project folder",
    ] {
        assert!(report.contains(expected), "{expected:?} in {report}");
    }
    // Both are allowed only when said so, loudly.
    fixture.write(
        "dialogs/ci.yaml",
        &hostile
            .replace("timeout: 1ns", "timeout: 10s")
            .replace("timeout: 100000h", "timeout: 10s")
            .replace(
                "args: [\"-c\", \"echo {pipeline}\"]",
                "args: [\"-c\", \"echo {pipeline}\"]\n      unsafe_shell_command_string: true",
            ),
    );
    fixture.append_settings("programs_outside_project: [/bin/sh, /bin/echo]\n");
    let out = fixture.run(&["check"], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// Only regular files of bounded size and nesting are read: a FIFO named
/// `*.yaml` and a deeply nested file get a clear error instead of a hang.
#[test]
fn check_reads_only_regular_bounded_files() {
    let fixture = Fixture::pack("dbops");
    let fifo = fixture.path().join("intents/zz.yaml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let report = check(&fixture);
    assert!(
        report.contains("zz.yaml") && report.contains("not a regular file"),
        "{report}"
    );
    std::fs::remove_file(&fifo).unwrap();
    fixture.write(
        "intents/zz.yaml",
        &format!(
            "intents:\n  deep:\n    examples: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    let report = check(&fixture);
    assert!(
        report.contains("intents/zz.yaml:3:") && report.contains("nest too deeply"),
        "{report}"
    );
}

/// `opsbot check` stays linear in annotated examples: 20,000 distinct values
/// check (a quadratic check took over a minute). Timing is not asserted here;
/// `tools/check_scale.sh` measures it.
#[test]
fn check_handles_twenty_thousand_annotated_examples() {
    let fixture = Fixture::pack("dbops");
    let before = stdout(&fixture.run(&["check"], ""));
    // "ok: 7 intents (66 examples, …": the pack's own examples.
    let examples: usize = before
        .split('(')
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{before}"));
    let mut yaml = String::from("intents:\n  backup_database:\n    examples:\n");
    for i in 0..20_000 {
        // Distinct values: each grows the closed list (the quadratic case).
        yaml.push_str(&format!(
            "      - back up the [db{i}x](database) database now\n"
        ));
    }
    fixture.write("intents/many.yaml", &yaml);
    let intents = std::fs::read_to_string(fixture.path().join("intents/db.yaml")).unwrap();
    // The generated file takes over the backup examples.
    let start = intents.find("  backup_database:").unwrap();
    let end = intents.find("  failover_cluster:").unwrap();
    fixture.write(
        "intents/db.yaml",
        &format!("{}{}", &intents[..start], &intents[end..]),
    );
    let out = fixture.run(&["check"], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // The pack's ten backup examples are replaced by the 20,000.
    let expected = format!("({} examples", examples - 10 + 20_000);
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));
}

/// A relative `--project` works for actions as for `check`, and the audit
/// tells a program that never started from one that ran.
#[test]
fn a_relative_project_runs_its_actions() {
    let fixture = Fixture::trained_pack("dbops");
    let parent = fixture.path().parent().unwrap();
    let name = fixture.path().file_name().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_opsbot"))
        .current_dir(parent)
        .arg("--project")
        .arg(name)
        .arg("--state")
        .arg(std::path::Path::new(name).join("state"))
        .args(["shell", "--user", "priya"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut replies = BufReader::new(child.stdout.take().unwrap());
    let mut said = |text: &str, lines: usize| -> String {
        writeln!(stdin, "{text}").unwrap();
        let mut out = String::new();
        for _ in 0..lines {
            replies.read_line(&mut out).unwrap();
        }
        out
    };
    let first = said("back up the orders database", 1);
    assert!(
        first.starts_with("I will back up orders (compression level 6)."),
        "{first}"
    );
    assert!(said("yes", 2).contains("orders is backed up."));
    said("back up the billing database", 1);
    // The program disappears after the bot loaded: "could not start", never "ran".
    std::fs::remove_file(fixture.path().join("actions/record.sh")).unwrap();
    let failed = said("yes", 2);
    assert!(!failed.contains("is backed up"), "{failed}");
    drop(stdin);
    child.wait().unwrap();
    let audit = stdout(&fixture.run(&["audit"], ""));
    assert!(audit.contains("could not start"), "{audit}");
    assert!(
        audit.contains("tried: actions/record.sh backup billing"),
        "{audit}"
    );
    assert!(
        audit.contains("ran: actions/record.sh backup orders"),
        "{audit}"
    );
}

/// Control characters in a user id or action output cannot fake audit lines,
/// the access decision is printed once, and every wrong 2FA code is audited.
#[test]
fn audit_output_is_terminal_safe_and_wrong_codes_are_recorded() {
    let fixture = Fixture::trained();
    fixture.shell("mallory\u{1b}[2J\r#1 fake", &["restart postgres on db-01"]);
    let audit = stdout(&fixture.run(&["audit"], ""));
    assert!(
        !audit.contains('\u{1b}') && !audit.contains('\r'),
        "{audit:?}"
    );
    assert!(audit.contains("mallory\\u{1b}[2J\\u{d}#1 fake"), "{audit}");
    assert_eq!(audit.matches("access: denied").count(), 1, "{audit}");

    let enrol = fixture.run(&["2fa", "enroll", "alice"], "");
    assert!(enrol.status.success(), "{}", stderr(&enrol));
    let out = fixture.shell(
        "alice",
        &[
            "extend acme's trial by 14 days",
            "yes",
            "000000",
            "111111",
            "cancel",
        ],
    );
    assert!(out.contains("code"), "{out}");
    let audit = stdout(&fixture.run(&["audit", "--json"], ""));
    assert_eq!(
        audit.matches("\"outcome\":\"code_rejected\"").count(),
        2,
        "{audit}"
    );
    let reader = BufReader::new(audit.as_bytes());
    assert!(reader.lines().count() >= 3);
}

/// A long-running action reports that it is still running, in place where the
/// adapter can edit (Matrix, tested there) and as new lines in the shell; a
/// quick one prints as before — on two packs.
#[test]
fn a_long_action_reports_progress_in_the_shell() {
    for (pack, user, request, running, done) in [
        (
            "dbops",
            "priya",
            "back up the orders database",
            "Backing up orders …",
            "orders is backed up.",
        ),
        (
            "cicd",
            "kim",
            "rerun the backend pipeline",
            "Rerunning backend …",
            "backend is running again.",
        ),
    ] {
        let fixture = Fixture::pack(pack);
        fixture.append_settings("progress_every: 1s\n");
        let out = fixture.run(&["train"], "");
        assert!(out.status.success(), "{}", stderr(&out));
        let quick = fixture.shell(user, &[request, "yes"]);
        let lines: Vec<&str> = quick.lines().collect();
        assert_eq!(lines[1..], [running, done], "{pack}: {quick}");
        std::fs::write(fixture.state().join("slow"), "3").unwrap();
        let slow = fixture.shell(user, &[request, "yes"]);
        let lines: Vec<&str> = slow.lines().collect();
        assert_eq!(lines[1], running, "{pack}: {slow}");
        assert!(
            lines[2].starts_with(&format!("{running} (still running, ")),
            "{pack}: {slow}"
        );
        assert_eq!(*lines.last().unwrap(), done, "{pack}: {slow}");
    }
}

/// Every door enters through the ingress: a redelivered message id is
/// ignored, a message older than the project's `max_message_age` (1h unless
/// opsbot.yaml says) gets the offline notice and no action — on two packs.
#[test]
fn redeliveries_and_stale_messages_are_handled_once_for_every_adapter() {
    for (pack, user, request) in [
        ("dbops", "priya", "back up the orders database"),
        ("cicd", "kim", "rerun the backend pipeline"),
    ] {
        let fixture = Fixture::trained_pack(pack);
        let bot = fixture.bot();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let key = ConversationKey::new("ops", user);
        let receive = |id: &str, text: &str, age_minutes: i64| -> (bool, Vec<String>) {
            let mut replies = Vec::new();
            let envelope = opsbot_runtime::Envelope {
                message_id: Some(id.to_string()),
                sent_at: Some(chrono::Utc::now() - chrono::Duration::minutes(age_minutes)),
                ..opsbot_runtime::Envelope::new(key.clone(), text)
            };
            let handled = runtime.block_on(
                bot.ingress()
                    .receive(envelope, &mut |r: String| replies.push(r)),
            ) == opsbot_runtime::Receipt::Handled;
            (handled, replies)
        };
        let (handled, replies) = receive("$1", request, 0);
        assert!(
            handled && replies[0].contains("Shall I go ahead?"),
            "{pack}: {replies:?}"
        );
        let (handled, replies) = receive("$1", request, 0);
        assert!(
            !handled && replies.is_empty(),
            "{pack}: a redelivery is ignored"
        );
        let (handled, replies) = receive("$2", "yes", 120);
        assert!(!handled, "{pack}");
        assert_eq!(
            replies,
            ["I was offline when you wrote “yes” 2 hours ago, so I did not act on it. Please ask again if it still matters."],
            "{pack}"
        );
        assert!(
            !fixture.state().join("runs.tsv").exists(),
            "{pack}: nothing ran"
        );
        let (_, replies) = receive("$2", "yes", 0);
        assert!(
            replies.is_empty(),
            "{pack}: the stale message is not acted on later either"
        );
    }
}

/// `audit verify` never says "no audit records yet" over a lost store whose
/// checkpoint copy holds records, and a deleted key made anew is named as
/// such: the bot refuses to start over the trail unless told to, and
/// `--new-audit-key` goes on with the earlier records' links checked.
#[test]
fn a_lost_store_or_key_is_named_by_audit_verify() {
    let fixture = Fixture::trained();
    fixture.shell("alice", &["restart apache on web-01", "yes"]);
    let verified = fixture.run(&["audit", "verify"], "");
    assert!(verified.status.success(), "{}", stdout(&verified));

    // The key deleted: a new one would seal nothing the trail knows.
    std::fs::remove_file(fixture.state().join("audit.key")).unwrap();
    let verify = fixture.run(&["audit", "verify"], "");
    assert!(!verify.status.success());
    assert!(
        stdout(&verify).contains("is not the key the audit trail")
            && !stdout(&verify).contains("was edited"),
        "{}",
        stdout(&verify)
    );
    let refused = fixture.run(&["shell", "--user", "alice"], "hello\n");
    assert!(!refused.status.success(), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("--new-audit-key"),
        "{}",
        stderr(&refused)
    );
    let resumed = fixture.run(
        &["--new-audit-key", "shell", "--user", "alice"],
        "restart apache on web-02\nyes\n",
    );
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let verify = fixture.run(&["audit", "verify"], "");
    assert!(verify.status.success(), "{}", stdout(&verify));
    assert!(
        stdout(&verify).contains("the audit key was replaced"),
        "{}",
        stdout(&verify)
    );

    // The store folder deleted: the checkpoint copy still holds the records.
    std::fs::remove_dir_all(fixture.state().join("opsbot.db")).unwrap();
    let verify = fixture.run(&["audit", "verify"], "");
    assert!(!verify.status.success());
    assert!(
        stdout(&verify).contains("is missing, but its checkpoint copy"),
        "{}",
        stdout(&verify)
    );
}
