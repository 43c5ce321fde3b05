//! Who may mute, and what: a mute hides alerts from everyone in a room, so
//! only those `alerts.mute.allow` names may mute, a target that would match
//! most alerts is refused unless listed under `alerts.mute.broad`, and a
//! mute takes effect only after its speaker's "yes". On both test packs.

use super::alert_port::*;
use super::*;

/// (pack, room, a member allowed to mute, someone in no group)
const ROOMS: [(&str, &str, &str, &str); 2] = [
    ("dbops", "!dba:db.example", "priya", "@mallory:db.example"),
    ("cicd", "!builds:ci.example", "kim", "@mallory:ci.example"),
];

fn audited(bot: &Bot) -> Vec<(String, String, AuditOutcome)> {
    bot.store()
        .audit_oldest_first()
        .map(Result::unwrap)
        .map(|r| (r.dialog, r.user, r.outcome))
        .collect()
}

#[test]
fn someone_the_settings_do_not_name_cannot_mute_and_the_attempt_is_audited() {
    for (pack, room, _, stranger) in ROOMS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(pack, state.path());
        runtime().block_on(async {
            let said = say(&bot, room, stranger, "mute web-01 for 7 days").await;
            assert!(
                said[0].starts_with("I did not mute anything: that needs membership of "),
                "{pack}: {said:?}"
            );
            say(&bot, room, stranger, "yes").await;
            assert!(bot.store().mutes_in(room).unwrap().is_empty(), "{pack}");
            let said = say(&bot, room, stranger, "unmute web-01").await;
            assert!(
                said[0].starts_with("I did not unmute anything"),
                "{pack}: {said:?}"
            );
            let records = audited(&bot);
            assert!(
                records.contains(&("mute_alerts".into(), stranger.into(), AuditOutcome::Denied))
                    && records.contains(&(
                        "unmute_alerts".into(),
                        stranger.into(),
                        AuditOutcome::Denied
                    )),
                "{pack}: {records:?}"
            );
        });
    }
}

#[test]
fn without_an_alerts_mute_block_nobody_may_mute() {
    for (pack, room, member, _) in ROOMS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot_changed(pack, state.path(), MemoryStore::new(), |project| {
            project.settings.alerts.as_mut().unwrap().mute = Default::default();
        });
        runtime().block_on(async {
            let said = say(&bot, room, member, "mute web-01 for 2 hours").await;
            assert_eq!(
                said,
                ["I did not mute anything: nobody may mute alerts here until opsbot.yaml says who may (`alerts.mute.allow`)."],
                "{pack}"
            );
            // Listing stays open to everyone.
            assert_eq!(
                say(&bot, room, member, "what is muted").await,
                ["No alerts are muted in this room."]
            );
        });
    }
}

#[test]
fn a_mute_waits_for_its_speakers_yes_and_a_no_or_another_message_drops_it() {
    for (pack, room, member, _) in ROOMS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(pack, state.path());
        runtime().block_on(async {
            let asked = say(&bot, room, member, "mute web-01 for 7 days").await;
            assert_eq!(
                asked,
                ["I will mute new alert messages matching web-01 in this room for 7 days. Shall I go ahead? (yes/no)"],
                "{pack}"
            );
            assert!(bot.store().mutes_in(room).unwrap().is_empty(), "{pack}: not yet");
            assert!(bot.awaits_answer(&ConversationKey::new(room, member)));
            // Another person's yes is theirs, not an answer to this question.
            say(&bot, room, "@someone:else", "yes").await;
            assert!(bot.store().mutes_in(room).unwrap().is_empty(), "{pack}");
            assert_eq!(say(&bot, room, member, "no").await, ["OK, I did not mute anything."]);
            assert!(bot.store().mutes_in(room).unwrap().is_empty(), "{pack}");

            say(&bot, room, member, "mute web-01 for 1 hour").await;
            bot.advance_clock(Duration::from_secs(3600));
            let late = say(&bot, room, member, "yes").await;
            assert!(late[0].contains("waited too long"), "{pack}: {late:?}");
            assert!(bot.store().mutes_in(room).unwrap().is_empty(), "{pack}");

            say(&bot, room, member, "mute web-01 for 1 hour").await;
            let done = say(&bot, room, member, "yes").await;
            assert!(done[0].starts_with("Muted new alert messages about web-01"), "{pack}: {done:?}");
            let mutes = bot.store().mutes_in(room).unwrap();
            assert_eq!(mutes.len(), 1, "{pack}");
            let person = bot.loaded().project.settings.person_of(member).to_string();
            assert_eq!(mutes[0].by, person, "{pack}");
            assert!(
                audited(&bot).contains(&(
                    "mute_alerts".into(),
                    member.into(),
                    AuditOutcome::Succeeded
                )),
                "{pack}: {:?}",
                audited(&bot)
            );
        });
    }
}

#[test]
fn a_target_that_matches_most_alerts_is_refused_unless_the_settings_list_it() {
    for (pack, room, member, _) in ROOMS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(pack, state.path());
        runtime().block_on(async {
            for broad in ["critical", "warning", "all", "everything"] {
                let said = say(&bot, room, member, &format!("mute {broad} for 7 days")).await;
                assert!(
                    said[0].starts_with(&format!(
                        "I did not mute anything: “{broad}” would match most alerts in this room"
                    )),
                    "{pack}: {said:?}"
                );
                assert!(!bot.awaits_answer(&ConversationKey::new(room, member)));
            }
            // A value most of the room's alerts carry is as broad as a severity.
            let name = if pack == "dbops" {
                "ReplicationLag"
            } else {
                "BuildBroken"
            };
            for job in ["a", "b", "c", "d"] {
                bot.accept_alerts(&notification(
                    &[
                        ("alertname", name),
                        ("source", "ci"),
                        ("env", "prod"),
                        ("job", job),
                    ],
                    &[(&format!("host-{job}:9100"), true)],
                ))
                .await
                .unwrap();
            }
            let said = say(&bot, room, member, "mute prod for 1 hour").await;
            assert!(
                said[0].contains("would match most alerts"),
                "{pack}: {said:?}"
            );
            let said = say(&bot, room, member, "mute host-a for 1 hour").await;
            assert!(said[0].starts_with("I will mute"), "{pack}: {said:?}");
            say(&bot, room, member, "no").await;
        });
    }
    // The CI pack lists `info` under alerts.mute.broad: that one may be muted.
    let state = tempfile::tempdir().unwrap();
    let bot = bot("cicd", state.path());
    runtime().block_on(async {
        let said = say(&bot, "!builds:ci.example", "kim", "mute info for 1 hour").await;
        assert!(said[0].starts_with("I will mute"), "{said:?}");
    });
}
