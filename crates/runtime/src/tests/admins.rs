//! The bot's own policy comes from opsbot.yaml, the same for every door
//! (issue 33): `admins:` decides who may reload the model and make the bot
//! leave a room, unless the builder overrides it (the shell's operator);
//! `max_message_age:` decides when a message is too old to act on. On both
//! packs.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::alert_port::RecordingChat;
use super::*;

/// (pack, its admin group, a member of it under an id other than their
/// person name, someone outside it)
const ADMINS: &[(&str, &str, &str, &str)] = &[
    ("dbops", "dba", "@omar:db.example", "@mallory:db.example"),
    ("cicd", "release", "kim.lee", "@eve:ci.example"),
];

const ROOM: &str = "!ops:example";

/// The bot of `root` that can reload (counting reloads) and leave rooms.
fn admin_bot(
    root: &Path,
    state: &Path,
    build: impl FnOnce(crate::RuntimeBuilder) -> crate::RuntimeBuilder,
) -> (Bot, Arc<RecordingChat>, Arc<AtomicUsize>) {
    let (project, nlu) = trained(root, |_| {});
    let reloads = Arc::new(AtomicUsize::new(0));
    let (counted, fresh) = (reloads.clone(), (project.clone(), nlu.clone()));
    let reloader: Arc<crate::model::Reloader> = Arc::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(fresh.clone())
    });
    let bot = Bot::with(project, nlu, MemoryStore::new(), state.to_path_buf(), |b| {
        build(b.reloader(reloader))
    });
    let chat = RecordingChat::new(true);
    bot.attach_chat(chat.clone());
    (bot, chat, reloads)
}

#[test]
fn an_admin_named_by_a_group_in_opsbot_yaml_may_reload_and_leave_on_two_packs() {
    for &(name, group, admin, outsider) in ADMINS {
        let root = copy_with_settings(name, &format!("admins: [\"group:{group}\"]\n"));
        let state = tempfile::tempdir().unwrap();
        let (bot, chat, reloads) = admin_bot(root.path(), state.path(), |b| b);
        runtime().block_on(async {
            let refused = say(&bot, ROOM, outsider, "reload the model").await;
            assert_eq!(
                refused,
                ["Only an admin of this bot can reload the model."],
                "{name}"
            );
            let refused = say(&bot, ROOM, outsider, "leave this room").await;
            assert_eq!(
                refused,
                ["Only an admin may ask me to leave this room."],
                "{name}"
            );
            assert_eq!(reloads.load(Ordering::SeqCst), 0, "{name}");
            assert!(chat.left.lock().unwrap().is_empty(), "{name}");

            let reloaded = say(&bot, ROOM, admin, "reload the model").await;
            assert!(
                reloaded.len() == 1 && reloaded[0].starts_with("Reloaded the intent model"),
                "{name}: {reloaded:?}"
            );
            assert_eq!(reloads.load(Ordering::SeqCst), 1, "{name}");
            say(&bot, ROOM, admin, "leave this room").await;
            assert_eq!(*chat.left.lock().unwrap(), [ROOM], "{name}");
        });
    }
}

#[test]
fn without_admins_in_opsbot_yaml_nobody_is_one_and_the_builder_overrides_them_on_two_packs() {
    for &(name, group, admin, _) in ADMINS {
        // The pack as it is names no admins: even its group is refused, and
        // the author is told where admins are named.
        let state = tempfile::tempdir().unwrap();
        let (bot, chat, reloads) = admin_bot(&pack(name), state.path(), |b| b);
        runtime().block_on(async {
            for command in ["reload the model", "leave this room"] {
                let refused = say(&bot, ROOM, admin, command).await;
                assert!(
                    refused.len() == 1
                        && refused[0].contains("opsbot.yaml names them under `admins:`"),
                    "{name}: {command}: {refused:?}"
                );
            }
        });
        assert_eq!(reloads.load(Ordering::SeqCst), 0, "{name}");
        assert!(chat.left.lock().unwrap().is_empty(), "{name}");

        // The builder's override (the shell's operator) replaces the
        // project's admins: the group member is refused, the operator not.
        let root = copy_with_settings(name, &format!("admins: [\"group:{group}\"]\n"));
        let state = tempfile::tempdir().unwrap();
        let (bot, _, reloads) = admin_bot(root.path(), state.path(), |b| {
            b.admins(Arc::new(|user: &str| user == "operator"))
        });
        runtime().block_on(async {
            let refused = say(&bot, ROOM, admin, "reload the model").await;
            assert_eq!(
                refused,
                ["Only an admin of this bot can reload the model."],
                "{name}"
            );
            let reloaded = say(&bot, ROOM, "operator", "reload the model").await;
            assert!(
                reloaded[0].starts_with("Reloaded the intent model"),
                "{name}: {reloaded:?}"
            );
        });
        assert_eq!(reloads.load(Ordering::SeqCst), 1, "{name}");
    }
}

#[test]
fn a_message_older_than_the_projects_max_message_age_is_not_acted_on_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        // (max_message_age in opsbot.yaml, whether a 20-minute-old "yes" is
        // acted on): the project's limit decides, not a constant.
        for (setting, acted) in [("max_message_age: 10m\n", false), ("", true)] {
            let root = copy_with_settings(name, setting);
            let state = tempfile::tempdir().unwrap();
            let bot = bot_in(root.path(), state.path(), MemoryStore::new(), |_| {});
            let key = ConversationKey::new("room", user);
            let envelope = |id: &str, text: &str, minutes: i64| Envelope {
                message_id: Some(id.to_string()),
                sent_at: Some(bot.now() - chrono::Duration::minutes(minutes)),
                ..Envelope::new(key.clone(), text)
            };
            let mut replies = Vec::new();
            let (asked, answered) = runtime().block_on(async {
                let mut sink = |r: String| replies.push(r);
                let asked = bot.receive(&envelope("$1", request, 5), &mut sink).await;
                let answered = bot.receive(&envelope("$2", "yes", 20), &mut sink).await;
                (asked, answered)
            });
            assert!(asked, "{name}: a 5-minute-old request is acted on");
            assert_eq!(answered, acted, "{name} {setting:?}: {replies:?}");
            if acted {
                assert_eq!(runs(state.path()).len(), 1, "{name}: {replies:?}");
            } else {
                assert_eq!(
                    replies.last().map(String::as_str),
                    Some("I was offline when you wrote “yes” 20 minutes ago, so I did not act on it. Please ask again if it still matters."),
                    "{name}"
                );
                assert!(runs(state.path()).is_empty(), "{name}: nothing ran");
                assert!(matches!(
                    bot.store().load(&key).unwrap().phase,
                    Phase::AwaitingConfirmation { .. }
                ));
            }
        }
    }
}
