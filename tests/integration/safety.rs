//! The safety model end to end: crashes at every stage, a tamper-evident audit
//! trail, TOTP enrolment through the CLI, and approvals between users.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use opsbot_runtime::{ConversationKey, Runtime, SledStore};

use crate::util::{stderr, stdout, Fixture};
use opsbot_runtime::store::ConversationStore;

/// A running `opsbot shell` we can talk to line by line and kill.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Shell {
    fn start(fixture: &Fixture, user: &str) -> Shell {
        let mut child = fixture
            .command(&["shell", "--user", user])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Shell {
            child,
            stdin,
            stdout,
        }
    }

    fn say(&mut self, text: &str) -> String {
        writeln!(self.stdin, "{text}").unwrap();
        let mut line = String::new();
        assert!(
            self.stdout.read_line(&mut line).unwrap() > 0,
            "the shell ended"
        );
        line
    }

    fn kill9(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        self.child.wait().unwrap();
    }
}

fn verify_ok(fixture: &Fixture) -> String {
    let out = fixture.run(&["audit", "verify"], "");
    assert!(
        out.status.success(),
        "audit verify failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn a_kill_while_asking_or_confirming_loses_nothing() {
    let fixture = Fixture::trained();
    let mut shell = Shell::start(&fixture, "alice");
    assert_eq!(
        shell.say("restart apache"),
        "On which host would you like to restart apache?\n"
    );
    shell.kill9();
    let mut shell = Shell::start(&fixture, "alice");
    assert_eq!(
        shell.say("web-01"),
        "I will restart apache on web-01. Shall I go ahead? (yes/no)\n"
    );
    shell.kill9();
    let out = fixture.shell("alice", &["yes"]);
    assert_eq!(
        out,
        "Restarting apache on web-01 …\nThe apache service has been restarted on web-01.\n"
    );
    let log = std::fs::read_to_string(fixture.state().join("restarts.tsv")).unwrap();
    assert_eq!(log.lines().count(), 1, "ran exactly once: {log}");
    assert!(verify_ok(&fixture).starts_with("ok: 1 audit records"));
}

#[test]
fn a_planned_action_that_never_started_is_reported_as_not_run() {
    let fixture = Fixture::trained();
    let project = opsbot_spec::load_project(fixture.path()).unwrap();
    let nlu = fixture.nlu(&project);
    let key = ConversationKey::new("shell", "alice");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    {
        let store = SledStore::open(&fixture.state().join("opsbot.db")).unwrap();
        let bot = Runtime::new(project.clone(), nlu.clone(), store.clone(), fixture.state());
        let mut replies = Vec::new();
        runtime
            .block_on(
                bot.handle(&key, "restart apache on web-01", &mut |r: String| {
                    replies.push(r)
                }),
            )
            .unwrap();
        // What a crash between planning and spawning leaves behind: the
        // Executing state and a Planned journal entry, committed together.
        let mut conversation = store.load(&key).unwrap();
        let opsbot_dialog::Phase::AwaitingConfirmation { request } = conversation.phase.clone()
        else {
            panic!("{conversation:?}")
        };
        let id = request.id.clone();
        conversation.phase = opsbot_dialog::Phase::Executing { request };
        let change = opsbot_runtime::store::Commit {
            records: vec![],
            journal: vec![(id, opsbot_runtime::JournalStatus::Planned)],
            ..opsbot_runtime::store::Commit::at(chrono::Utc::now())
        };
        store.commit(&key, &conversation, change).unwrap();
    }
    let out = fixture.shell("alice", &[]);
    assert_eq!(out, "I was restarted before your request to restart a service on a host started, so nothing was run. Ask again if you still need it.\n");
    assert!(!fixture.state().join("restarts.tsv").exists());
    let audit = stdout(&fixture.run(&["audit", "--json"], ""));
    assert!(audit.contains("\"outcome\":\"not_run\""), "{audit}");
    verify_ok(&fixture);
}

#[test]
fn the_audit_trail_names_edited_and_removed_records() {
    let fixture = Fixture::trained();
    fixture.shell(
        "alice",
        &[
            "restart apache on web-01",
            "yes",
            "restart nginx on web-02",
            "no",
            "who is on call",
            "deploy shop 1.0.0 to qa",
            "yes",
        ],
    );
    assert!(verify_ok(&fixture).starts_with("ok: 4 audit records"));
    {
        let store = SledStore::open(&fixture.state().join("opsbot.db")).unwrap();
        let tree = store.audit_tree();
        let key = 2u64.to_be_bytes();
        let mut record: serde_json::Value =
            serde_json::from_slice(&tree.get(key).unwrap().unwrap()).unwrap();
        record["user"] = "mallory".into();
        tree.insert(key, serde_json::to_vec(&record).unwrap())
            .unwrap();
        tree.flush().unwrap();
    }
    let out = fixture.run(&["audit", "verify"], "");
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("record #2 was edited: its content does not match its keyed hash"),
        "{}",
        stdout(&out)
    );
    {
        let store = SledStore::open(&fixture.state().join("opsbot.db")).unwrap();
        store.audit_tree().remove(3u64.to_be_bytes()).unwrap();
        store.audit_tree().flush().unwrap();
    }
    let out = fixture.run(&["audit", "verify"], "");
    let report = stdout(&out);
    assert!(
        report.contains("record #3 missing: the trail jumps from #2 to #4"),
        "{report}"
    );
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
}

#[test]
fn the_timeline_exports_as_markdown_and_jsonl() {
    let fixture = Fixture::trained();
    fixture.shell(
        "alice",
        &[
            "restart apache on web-01",
            "yes",
            "restart nginx on web-02 token=hunter2",
            "no",
        ],
    );
    let markdown = stdout(&fixture.run(
        &["audit", "export", "--format", "markdown", "--since", "1h"],
        "",
    ));
    assert!(
        markdown.starts_with("# opsbot timeline\n\n2 records and 0 alert events from "),
        "{markdown}"
    );
    assert!(markdown.contains("| restart_service host=web-01 service=apache | succeeded | confirmed by alice; `actions/restart-service.sh apache web-01`; exit 0 |"), "{markdown}");
    let jsonl = stdout(&fixture.run(
        &["audit", "export", "--format", "jsonl", "--room", "shell"],
        "",
    ));
    let records: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1]["messages"][0], "restart nginx on web-02 [redacted]",
        "secrets are redacted"
    );
    assert!(!jsonl.contains("hunter2"));
    let none = stdout(&fixture.run(
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--room",
            "elsewhere",
        ],
        "",
    ));
    assert!(none.is_empty());
    let future = stdout(&fixture.run(&["audit", "export", "--since", "2999-01-01"], ""));
    assert!(future.contains("No records match."), "{future}");
}

#[test]
fn enrolment_prints_the_secret_once_and_codes_unlock_the_action() {
    let fixture = Fixture::trained();
    let out = fixture.run(&["2fa", "enroll", "alice"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let uri = text
        .lines()
        .find(|l| l.starts_with("otpauth://totp/opsbot:alice?secret="))
        .expect("an otpauth URI");
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let again = fixture.run(&["2fa", "enroll", "alice"], "");
    assert!(!again.status.success() && stderr(&again).contains("already enrolled"));

    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let code = opsbot_runtime::totp::current_code(&bytes, chrono::Utc::now());
    let out = fixture.run(
        &["shell", "--user", "alice"],
        &format!("extend acme's trial by 3 days\nyes\n{code}\n"),
    );
    let out = stdout(&out) + stderr(&out).as_str();
    assert!(out.contains("Extended acme's trial by 3 days"), "{out}");

    let listed = stdout(&fixture.run(&["audit", "--json"], ""));
    assert!(listed.contains("\"two_factor\":true"), "{listed}");
    assert!(
        !listed.contains(&secret) && !listed.contains(&code),
        "neither secret nor code is recorded"
    );
    let debug_log = fixture
        .command(&["shell", "--user", "alice"])
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!stderr(&debug_log).contains(&secret));
    assert!(fixture
        .run(&["2fa", "remove", "alice"], "")
        .status
        .success());
}

#[test]
fn approvals_name_the_request_when_several_wait() {
    let fixture = Fixture::trained();
    let bot = fixture.bot();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let say = |user: &str, text: &str| -> Vec<String> {
        let mut replies = Vec::new();
        runtime
            .block_on(bot.handle(
                &ConversationKey::new("ops", user),
                text,
                &mut |r: String| replies.push(r),
            ))
            .unwrap();
        replies
    };
    let code_in = |reply: &str| reply.split("“approve ").nth(1).unwrap()[..4].to_string();
    say("alice", "deploy shop 3.0.0 to production");
    let alice_code = code_in(&say("alice", "yes")[0]);
    say("dave", "deploy billing 9.0.0 to production");
    let dave_code = code_in(&say("dave", "yes")[0]);
    let ambiguous = say("bob", "approve");
    assert!(
        ambiguous[0].starts_with("Several requests are waiting for approval; say which:"),
        "{ambiguous:?}"
    );
    assert!(ambiguous[0].contains(&format!("“approve {alice_code}” (alice: deploy_app)")));
    assert_eq!(
        say("dave", "approve ffff"),
        ["No request ffff is waiting for approval in this room."]
    );
    let approved = say("dave", &format!("approve {alice_code}"));
    assert_eq!(
        approved,
        [
            "Approved by dave.",
            "Deploying shop 3.0.0 to production …",
            "shop 3.0.0 is now deployed to production."
        ]
    );
    assert_eq!(say("alice", &format!("deny {dave_code}")), ["alice declined dave's request to deploy a version of an app to an environment. Nothing was run."]);
    let deploys = std::fs::read_to_string(fixture.state().join("deploys.tsv")).unwrap();
    assert_eq!(deploys.lines().count(), 1);
    let audit: Vec<serde_json::Value> = bot
        .store()
        .audit_newest_first()
        .map(|r| serde_json::to_value(r.unwrap()).unwrap())
        .collect();
    assert_eq!(audit[0]["outcome"], "rejected");
    assert_eq!(audit[1]["approved_by"], "dave");
    assert_eq!(audit[1]["confirmed_by"], "alice");
}

#[test]
fn a_duplicated_yes_delivered_concurrently_runs_once() {
    let fixture = Fixture::trained();
    let bot = std::sync::Arc::new(fixture.bot());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key = ConversationKey::new("ops", "alice");
    runtime
        .block_on(bot.handle(&key, "restart apache on web-01", &mut |_: String| {}))
        .unwrap();
    let replies = runtime.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (bot, key) = (bot.clone(), key.clone());
                tokio::spawn(async move {
                    let mut replies = Vec::new();
                    bot.handle(&key, "yes", &mut |r: String| replies.push(r))
                        .await
                        .unwrap();
                    replies
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.unwrap());
        }
        all
    });
    let ran = replies
        .iter()
        .filter(|r| r.first().is_some_and(|t| t.starts_with("Restarting")))
        .count();
    assert_eq!(ran, 1, "{replies:?}");
    assert_eq!(
        replies
            .iter()
            .filter(|r| r
                == &&vec![
                "There is nothing waiting for a yes right now. Say “help” to see what I can do."
                    .to_string()
            ])
            .count(),
        7
    );
    let log = std::fs::read_to_string(fixture.state().join("restarts.tsv")).unwrap();
    assert_eq!(log.lines().count(), 1);
}
