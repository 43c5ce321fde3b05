//! Reminders, recurring posts and moving what is scheduled, on both test
//! packs, on a manual clock: kept across restarts on the sled store, said or
//! posted once at their time, refused with the reason when they cannot be
//! kept as said.

use opsbot_spec::cron::Every;

use super::*;

fn monday_nine() -> chrono::DateTime<chrono::Utc> {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

const PACKS: [(&str, &str); 2] = [("dbops", "priya"), ("cicd", "kim")];

#[test]
fn a_reminder_is_said_once_at_its_time_on_two_packs() {
    for (name, user) in PACKS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        bot.set_clock(monday_nine());
        runtime().block_on(async {
            let kept = say(
                &bot,
                "room",
                user,
                "remind me to check the backups in 2 hours",
            )
            .await;
            assert!(
                kept[0].starts_with("I will remind you at ")
                    && kept[0].contains("in 2 hours")
                    && kept[0].contains("“check the backups”"),
                "{name}: {kept:?}"
            );
            bot.set_clock(monday_nine() + chrono::Duration::minutes(119));
            assert!(bot.fire_due().await.unwrap().is_empty(), "{name}");
            bot.set_clock(monday_nine() + chrono::Duration::seconds(7201));
            let said = bot.fire_due().await.unwrap();
            assert_eq!(said.len(), 1, "{name}: {said:?}");
            assert_eq!(said[0].text, "Reminder: check the backups", "{name}");
            assert_eq!(said[0].mention.as_deref(), Some(user));
            assert_eq!(said[0].room, "room");
            assert!(bot.fire_due().await.unwrap().is_empty(), "{name}: once");
        });
        assert!(bot.store().jobs().unwrap().is_empty());
        let trail: Vec<String> = bot
            .store()
            .audit_newest_first()
            .map(|r| r.unwrap())
            .filter(|r| r.dialog == "reminder")
            .map(|r| r.outcome.as_str().to_string())
            .collect();
        assert_eq!(trail, ["succeeded", "scheduled"], "{name}");
    }
}

#[test]
fn a_recurring_reminder_keeps_its_local_time_across_a_restart_on_two_packs() {
    for (name, user) in PACKS {
        let state = tempfile::tempdir().unwrap();
        let db = state.path().join("opsbot.db");
        let bot = bot_on(name, state.path(), crate::SledStore::open(&db).unwrap());
        bot.set_clock(monday_nine());
        let zone = bot.loaded().project.settings.zone_of(user);
        let kept = runtime().block_on(say(
            &bot,
            "room",
            user,
            "remind us every weekday at 9 to look at the lag report",
        ));
        assert!(
            kept[0].starts_with("I will remind this room every weekday at 9")
                && kept[0].contains("“look at the lag report”"),
            "{name}: {kept:?}"
        );
        drop(bot);
        let every = Every::parse("0 9 * * 1-5", zone).unwrap();
        let first = every.next_after(monday_nine()).unwrap();
        let bot = bot_on(name, state.path(), crate::SledStore::open(&db).unwrap());
        bot.set_clock(first);
        runtime().block_on(async {
            let said = bot.fire_due().await.unwrap();
            assert_eq!(said.len(), 1, "{name}: {said:?}");
            assert!(
                said[0].text.starts_with(&format!(
                    "Reminder for this room from {user}: look at the lag report"
                )),
                "{name}: {said:?}"
            );
            assert_eq!(said[0].mention, None);
        });
        let jobs = bot.store().jobs().unwrap();
        assert_eq!(jobs.len(), 1, "{name}: kept for next time");
        assert_eq!(jobs[0].due_at(), every.next_after(first).unwrap(), "{name}");
        assert_eq!(
            jobs[0]
                .due_at()
                .with_timezone(&zone)
                .format("%H:%M")
                .to_string(),
            "09:00"
        );
    }
}

/// A reminder without a time asks for one and takes a message that is only
/// a time; anything else drops it and is read as usual; so does an answer
/// after the pending expiry. On both packs.
#[test]
fn a_reminder_without_a_time_asks_when_and_takes_the_answer_on_two_packs() {
    for (name, user) in PACKS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        bot.set_clock(monday_nine());
        let key = ConversationKey::new("room", user);
        runtime().block_on(async {
            let asked = say(&bot, "room", user, "please remind us to check the backups.").await;
            assert_eq!(
                asked,
                ["When should I remind this room? Say a time such as “in 2 hours”, “at 17:00”, “tomorrow at 9” or “every weekday at 9”; anything else, and I keep no reminder."],
                "{name}"
            );
            assert!(bot.store().jobs().unwrap().is_empty(), "{name}");
            // Kept with the conversation, in the store.
            assert!(bot.store().load(&key).unwrap().pending_reminder.is_some());
            let kept = say(&bot, "room", user, "17:00").await;
            assert!(
                kept[0].starts_with("I will remind this room at Mon 2 Mar 2026 17:00 "),
                "{name}: {kept:?}"
            );
            assert!(kept[0].contains("“check the backups”"), "{name}: {kept:?}");
            assert_eq!(bot.store().jobs().unwrap().len(), 1, "{name}");
            assert!(bot.store().load(&key).unwrap().pending_reminder.is_none());

            // Another message drops it, and is read as usual.
            say(&bot, "room", user, "remind me to stretch").await;
            let other = say(&bot, "room", user, "hello").await;
            assert!(!other[0].starts_with("I will remind"), "{name}: {other:?}");
            let late = say(&bot, "room", user, "in 1 hour").await;
            assert!(!late.iter().any(|r| r.starts_with("I will remind")), "{name}: {late:?}");
            // An answer after the pending expiry keeps nothing either.
            say(&bot, "room", user, "remind me to stretch").await;
            bot.set_clock(monday_nine() + chrono::Duration::hours(2));
            let stale = say(&bot, "room", user, "in 1 hour").await;
            assert!(!stale.iter().any(|r| r.starts_with("I will remind")), "{name}: {stale:?}");
            assert_eq!(bot.store().jobs().unwrap().len(), 1, "{name}");
        });
    }
}

#[test]
fn a_reminder_that_cannot_be_kept_as_said_keeps_nothing_and_says_why() {
    let (name, user) = PACKS[0];
    let state = tempfile::tempdir().unwrap();
    let bot = bot(name, state.path());
    bot.set_clock(monday_nine());
    runtime().block_on(async {
        for (text, expected) in [
            (
                "remind zorro to check the backups in 2 hours",
                "I do not know anyone called “zorro”",
            ),
            (
                "remind the db room every weekday at 9 to look at the lag report",
                "I can only remind people in the room the reminder is asked in",
            ),
            (
                "remind me in 2 hours",
                "What should I remind you of in 2 hours?",
            ),
        ] {
            let told = say(&bot, "room", user, text).await;
            assert!(told[0].starts_with(expected), "{text}: {told:?}");
        }
    });
    assert!(bot.store().jobs().unwrap().is_empty());
}

#[test]
fn a_scheduled_request_is_moved_by_its_requester_only_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot_changed(name, state.path(), MemoryStore::new(), |project| {
            for dialog in project.dialogs.values_mut() {
                dialog.schedulable = !dialog.read_only;
            }
        });
        bot.set_clock(monday_nine());
        let zone = bot.loaded().project.settings.zone_of(user);
        runtime().block_on(async {
            say(&bot, "room", user, &format!("{request} in 3 hours")).await;
            say(&bot, "room", user, "yes").await;
            let refused = say(&bot, "room", "stranger", "move it to 23:00").await;
            assert!(
                refused[0].starts_with("Nothing scheduled in this room is of yours"),
                "{name}: {refused:?}"
            );
            let id = bot.store().jobs().unwrap()[0].short_id().to_string();
            let refused = say(&bot, "room", "stranger", &format!("move {id} to 23:00")).await;
            assert!(
                refused[0].starts_with(&format!("Only {user}, who asked for it")),
                "{name}: {refused:?}"
            );
            let moved = say(&bot, "room", user, "move it to 23:00").await;
            assert!(
                moved[0].starts_with("Moved: the request to "),
                "{name}: {moved:?}"
            );
            let job = bot.store().jobs().unwrap().remove(0);
            assert_eq!(
                job.due_at()
                    .with_timezone(&zone)
                    .format("%H:%M")
                    .to_string(),
                "23:00",
                "{name}"
            );
            // Nothing runs at the old time; it runs at the new one.
            bot.set_clock(monday_nine() + chrono::Duration::minutes(181));
            assert!(bot.fire_due().await.unwrap().is_empty(), "{name}");
            bot.set_clock(job.due_at());
            let fired = bot.fire_due().await.unwrap();
            assert!(
                fired[0]
                    .text
                    .starts_with(&format!("Starting what {user} scheduled")),
                "{name}: {fired:?}"
            );
        });
        let moved = bot
            .store()
            .audit_newest_first()
            .map(|r| r.unwrap())
            .any(|r| {
                r.reason
                    .as_deref()
                    .is_some_and(|why| why.starts_with(&format!("moved by {user}")))
            });
        assert!(moved, "{name}: the move is audited");
    }
}

/// A schedule of each pack's first read-only dialog, posting to two rooms.
fn with_schedule(project: &mut opsbot_spec::Project, missed: opsbot_spec::Missed) {
    let dialog = project
        .dialogs
        .values()
        .find(|d| d.read_only && matches!(d.behaviour, opsbot_spec::Behaviour::Run { .. }))
        .expect("a read-only dialog")
        .clone();
    let slots = dialog
        .slots
        .iter()
        .filter_map(|s| {
            let value = project.entities[&s.entity].canonical_values().next()?;
            Some((s.name.clone(), value.to_string()))
        })
        .collect();
    project.schedules.insert(
        "morning".into(),
        opsbot_spec::Schedule {
            name: "morning".into(),
            every: Every::parse("0 9 * * 1-5", chrono_tz::Europe::Berlin).unwrap(),
            dialog: dialog.name.clone(),
            slots,
            rooms: vec!["!ops".into(), "!db".into()],
            missed,
        },
    );
}

#[test]
fn a_recurring_post_runs_its_dialog_once_per_time_and_posts_to_its_rooms_on_two_packs() {
    for (name, _) in PACKS {
        let state = tempfile::tempdir().unwrap();
        let db = state.path().join("opsbot.db");
        let make = |db: &Path| {
            bot_changed(
                name,
                state.path(),
                crate::SledStore::open(db).unwrap(),
                |p| with_schedule(p, opsbot_spec::Missed::Skip),
            )
        };
        let bot = make(&db);
        bot.set_clock(monday_nine());
        runtime().block_on(async {
            // The first look arms it for Tuesday 09:00 Berlin (08:00 UTC).
            assert!(bot.fire_due().await.unwrap().is_empty());
        });
        let jobs = bot.store().jobs().unwrap();
        assert_eq!(jobs.len(), 1, "{name}");
        assert_eq!(
            jobs[0].due_at(),
            "2026-03-03T08:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        );
        drop(bot);
        let bot = make(&db);
        bot.set_clock("2026-03-03T08:00:30Z".parse().unwrap());
        runtime().block_on(async {
            let posted = bot.fire_due().await.unwrap();
            let rooms: Vec<&str> = posted.iter().map(|m| m.room.as_str()).collect();
            assert_eq!(rooms, ["!ops", "!db"], "{name}: {posted:?}");
            assert!(!posted[0].text.is_empty() && posted[0].mention.is_none());
            assert!(bot.fire_due().await.unwrap().is_empty(), "{name}: once");
            // Listed in its rooms, and not cancelled from chat.
            let listed = say(&bot, "!db", "someone", "what is scheduled?").await;
            assert!(
                listed[0].contains("the post `morning`"),
                "{name}: {listed:?}"
            );
            let refused = say(&bot, "!db", "someone", "cancel morning").await;
            assert!(!refused.is_empty(), "{name}");
        });
        let posts: Vec<_> = bot
            .store()
            .audit_newest_first()
            .map(|r| r.unwrap())
            .filter(|r| r.confirmed_by.as_deref() == Some("schedule: morning"))
            .collect();
        assert_eq!(posts.len(), 1, "{name}: one audited run");
        assert_eq!(
            bot.store().jobs().unwrap()[0].due_at(),
            "2026-03-04T08:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        );
    }
}

#[test]
fn a_post_missed_while_the_bot_was_down_follows_its_policy() {
    let (name, _) = PACKS[1];
    for (missed, posts) in [
        (opsbot_spec::Missed::Skip, 0),
        (opsbot_spec::Missed::Run, 2),
    ] {
        let state = tempfile::tempdir().unwrap();
        let bot = bot_changed(name, state.path(), MemoryStore::new(), |p| {
            with_schedule(p, missed)
        });
        bot.set_clock(monday_nine());
        runtime().block_on(async {
            assert!(bot.fire_due().await.unwrap().is_empty());
            // Down from before Tuesday 08:00 UTC until 11:00.
            bot.set_clock("2026-03-03T11:00:00Z".parse().unwrap());
            let posted = bot.fire_due().await.unwrap();
            assert_eq!(posted.len(), posts, "{missed:?}: {posted:?}");
            if posts > 0 {
                assert!(
                    posted[0].text.contains("(Late: this was due at"),
                    "{posted:?}"
                );
            }
        });
        let audited = bot
            .store()
            .audit_newest_first()
            .map(|r| r.unwrap())
            .any(|r| {
                r.reason
                    .as_deref()
                    .is_some_and(|why| why.starts_with("missed:"))
            });
        assert_eq!(audited, missed == opsbot_spec::Missed::Skip, "{missed:?}");
        // Either way, the next one is Wednesday's.
        assert_eq!(
            bot.store().jobs().unwrap()[0].due_at(),
            "2026-03-04T08:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        );
    }
}
