//! `values_from` lookups that do not trust what they read (issue 31): a file
//! lookup never leaves its folder (links, `/dev/zero`, a file outside the
//! project), never reads the state folder, never blocks on a FIFO (also not
//! after a restart mid-lookup), and lists a bounded number of values; a
//! lookup program runs only for someone the access rules allow, and its
//! values are its standard output within the same caps and timeout.

use std::time::Duration;

use opsbot_spec::{Requirement, ValuesFrom};

use super::*;

/// Says `text`, failing (not hanging) when the bot takes over 5 s: on a
/// thread of its own, since a read that blocks its async worker would keep
/// any timer on that thread from firing.
fn say_soon(bot: &Arc<Bot>, user: &str, text: &str) -> Vec<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let (bot, user, owned) = (bot.clone(), user.to_string(), text.to_string());
    std::thread::spawn(move || {
        let replies = runtime().block_on(say(&bot, "room", &user, &owned));
        let _ = sender.send(replies);
    });
    receiver
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("`{text}` still unanswered after 5 s"))
}

/// A bot of the project at `root`, shared with the threads that talk to it.
fn shared_bot(
    root: &Path,
    state: &Path,
    change: impl FnOnce(&mut opsbot_spec::Project),
) -> Arc<Bot> {
    Arc::new(bot_in(root, state, MemoryStore::new(), change))
}

fn phase(bot: &Bot, user: &str) -> Phase {
    bot.store()
        .load(&ConversationKey::new("room", user))
        .unwrap()
        .phase
}

/// Replaces `data/builds/mobile.txt` of a copied CI pack.
fn plant(root: &Path, how: impl FnOnce(&Path)) {
    let file = root.join("data/builds/mobile.txt");
    let _ = std::fs::remove_file(&file);
    how(&file);
}

#[test]
fn a_file_lookup_reads_only_small_regular_files_inside_its_folder() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("shadow");
    std::fs::write(&secret, "root-password-hash\n").unwrap();
    let long: String = (100_000..300_000).map(|n| format!("{n}\n")).collect();
    // (case, how mobile.txt is made, what the refusal says)
    type Plant = Box<dyn FnOnce(&Path)>;
    let cases: Vec<(&str, Plant, &str)> = vec![
        (
            "a link to a file outside the project",
            Box::new(move |f| std::os::unix::fs::symlink(&secret, f).unwrap()),
            "leads outside its lookup folder",
        ),
        (
            "a link to /dev/zero",
            Box::new(|f| std::os::unix::fs::symlink("/dev/zero", f).unwrap()),
            "leads outside its lookup folder",
        ),
        (
            "a FIFO (a hung mount)",
            Box::new(|f| {
                nix::unistd::mkfifo(f, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap()
            }),
            "not a regular file",
        ),
        (
            "a link to a FIFO inside the folder",
            Box::new(|f| {
                let fifo = f.with_file_name("fifo");
                nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .unwrap();
                std::os::unix::fs::symlink(&fifo, f).unwrap();
            }),
            "not a regular file",
        ),
        (
            "200,000 lines",
            Box::new(move |f| std::fs::write(f, long).unwrap()),
            "larger than",
        ),
        (
            "1,001 lines",
            Box::new(|f| {
                let lines: String = (1000..2001).map(|n| format!("{n}\n")).collect();
                std::fs::write(f, lines).unwrap()
            }),
            "more than 1000 values",
        ),
    ];
    for (case, how, reason) in cases {
        let project = copy_of("cicd");
        plant(project.path(), how);
        let state = tempfile::tempdir().unwrap();
        let bot = shared_bot(project.path(), state.path(), |_| {});
        let replies = say_soon(&bot, "kim", "redeploy build 88 of mobile");
        let said = replies.join("\n");
        assert!(
            said.contains(reason) && said.contains("Nothing was run"),
            "{case}: {said}"
        );
        assert!(!said.contains("root-password"), "{case}: {said}");
        assert!(said.len() < 500, "{case}: {} characters", said.len());
        assert_eq!(phase(&bot, "kim"), Phase::Idle, "{case}");
        assert!(runs(state.path()).is_empty(), "{case}");
    }
}

#[test]
fn a_long_list_of_choices_is_named_by_its_start_and_a_count() {
    let project = copy_of("cicd");
    plant(project.path(), |f| {
        let lines: String = (1000..2000).map(|n| format!("{n}\n")).collect();
        std::fs::write(f, lines).unwrap()
    });
    let state = tempfile::tempdir().unwrap();
    let bot = shared_bot(project.path(), state.path(), |_| {});
    let said = say_soon(&bot, "kim", "redeploy build 88 of mobile").join("\n");
    assert!(
        said.contains("1. 1000, 2. 1001") && said.contains("25. 1024 and 975 more"),
        "{said}"
    );
    assert!(!said.contains("1025"), "{said}");
    // A value past the ones shown is still taken by name.
    let said = say_soon(&bot, "kim", "1999").join("\n");
    assert!(said.contains("build 1999 of mobile"), "{said}");
}

#[test]
fn a_restart_mid_lookup_of_a_fifo_ends_the_request_instead_of_blocking_again() {
    let project = copy_of("cicd");
    plant(project.path(), |f| {
        nix::unistd::mkfifo(f, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap()
    });
    let state = tempfile::tempdir().unwrap();
    let bot = shared_bot(project.path(), state.path(), |_| {});
    let key = ConversationKey::new("room", "kim");
    {
        say_soon(&bot, "kim", "redeploy build 412 of frontend");
        let Phase::AwaitingConfirmation { mut request } = phase(&bot, "kim") else {
            panic!("waits for a yes");
        };
        // The process died while it looked up mobile's builds.
        request.slots.get_mut("pipeline").unwrap().value = "mobile".into();
        request.checked.clear();
        let checking = Conversation {
            phase: Phase::Checking {
                request,
                slot: "build".into(),
            },
            ..Conversation::default()
        };
        bot.store()
            .commit(&key, &checking, Commit::at(chrono::Utc::now()))
            .unwrap();
        let said = say_soon(&bot, "kim", "hello").join("\n");
        assert!(said.contains("not a regular file"), "{said}");
    }
    assert_eq!(phase(&bot, "kim"), Phase::Idle);
}

#[test]
fn the_state_folder_is_never_read_even_where_a_lookup_folder_holds_it() {
    // The operator's `--state` points into the lookup folder.
    let project = copy_of("cicd");
    let state = project.path().join("data/builds");
    let bot = shared_bot(project.path(), &state, |_| {});
    let said = say_soon(&bot, "kim", "redeploy build 88 of backend").join("\n");
    assert!(said.contains("state folder"), "{said}");
    assert_eq!(phase(&bot, "kim"), Phase::Idle);
}

#[test]
fn a_lookup_program_runs_only_for_someone_the_access_rules_allow() {
    let project = copy_of("dbops");
    let script = project.path().join("actions/list-replicas.sh");
    std::fs::write(
        &script,
        "#!/usr/bin/env bash\ntouch \"$OPSBOT_STATE_DIR/looked-up\"\nprintf 'pg-main-r1\\npg-analytics-r1\\n'\n",
    )
    .unwrap();
    for (cluster, allowed) in [("pg-main", false), ("pg-analytics", true)] {
        let state = tempfile::tempdir().unwrap();
        let bot = shared_bot(project.path(), state.path(), |project| {
            // Only leads may touch pg-main; priya is no lead.
            let dialog = project.dialogs.get_mut("rebuild_replica").unwrap();
            dialog.access.requirements.push(Requirement {
                when: [("cluster".to_string(), "pg-main".to_string())].into(),
                groups: ["leads".to_string()].into(),
            });
        });
        let said = say_soon(
            &bot,
            "priya",
            &format!("rebuild replica {cluster}-r1 of {cluster}"),
        )
        .join("\n");
        let looked_up = state.path().join("looked-up").exists();
        assert_eq!(looked_up, allowed, "{cluster}: {said}");
        assert_eq!(said.contains("may not"), !allowed, "{cluster}: {said}");
    }
}

/// The dbops copy's lookup program replaced by `script` (bash).
fn replicas_bot(script: &str, timeout: Option<Duration>) -> (tempfile::TempDir, Arc<Bot>) {
    let project = copy_of("dbops");
    std::fs::write(
        project.path().join("actions/list-replicas.sh"),
        format!("#!/usr/bin/env bash\n{script}\n"),
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let bot = shared_bot(project.path(), state.path(), |project| {
        let slot = &mut project.dialogs.get_mut("rebuild_replica").unwrap().slots[1];
        if let (Some(ValuesFrom::Program(program)), Some(timeout)) =
            (&mut slot.values_from, timeout)
        {
            program.timeout = timeout;
        }
    });
    (project, bot)
}

#[test]
fn a_lookup_program_lists_its_output_lines_only_within_the_caps_and_timeout() {
    let (_project, bot) = replicas_bot(
        "echo 'warning: cache cold' >&2\nprintf 'pg-main-r1\\npg-main-r2\\n'",
        None,
    );
    let said = say_soon(&bot, "priya", "rebuild replica pg-main-r9 of pg-main").join("\n");
    assert!(
        said.contains("the choices are 1. pg-main-r1, 2. pg-main-r2.") && !said.contains("warning"),
        "its errors are not values: {said}"
    );
    for (script, timeout, reason) in [
        ("seq 100000 300000", None, "printed more than"),
        ("seq 1000 2000", None, "more than 1000 values"),
        ("sleep 30", Some(Duration::from_millis(300)), "timed out"),
    ] {
        let (_project, bot) = replicas_bot(script, timeout);
        let said = say_soon(&bot, "priya", "rebuild replica pg-main-r9 of pg-main").join("\n");
        assert!(
            said.contains(reason) && said.contains("Nothing was run") && said.len() < 500,
            "{script}: {said}"
        );
        assert_eq!(phase(&bot, "priya"), Phase::Idle, "{script}");
    }
}

#[test]
fn a_relative_state_folder_reaches_actions_absolute() {
    let bot = bot("dbops", Path::new("relative-state"));
    assert!(
        bot.state_dir().is_absolute(),
        "{}",
        bot.state_dir().display()
    );
    assert_eq!(
        bot.state_dir(),
        std::env::current_dir().unwrap().join("relative-state")
    );
}

#[test]
fn a_value_changed_at_the_confirmation_is_looked_up_again() {
    let state = tempfile::tempdir().unwrap();
    let bot = Arc::new(bot("cicd", state.path()));
    let said = say_soon(&bot, "kim", "redeploy build 412 of frontend").join("\n");
    assert!(said.contains("build 412 of frontend"), "{said}");
    let said = say_soon(&bot, "kim", "make it build 999").join("\n");
    assert!(
        said.contains("“999” is not a build I may use"),
        "frontend never made build 999: {said}"
    );
    say_soon(&bot, "kim", "yes");
    assert!(runs(state.path()).is_empty(), "{:?}", runs(state.path()));
    let said = say_soon(&bot, "kim", "411").join("\n");
    assert!(said.contains("build 411 of frontend"), "{said}");
}
