//! Keeping the noise down, on the two test packs: mutes from chat, a route's
//! rate limit with its digest, quiet hours with theirs.

use chrono::Timelike;

use std::time::Duration;

use super::alert_port::*;
use super::*;
use crate::alerts::Notification;

#[test]
fn a_mute_holds_new_alert_messages_until_it_is_lifted_on_two_packs() {
    // (pack, room, who, labels, muted instance, target said)
    let cases: [(&str, &str, &str, Pairs, &str); 2] = [
        (
            "dbops",
            "!dba:db.example",
            "priya",
            &[("alertname", "ReplicationLag"), ("severity", "warning")],
            "pg-1",
        ),
        (
            "cicd",
            "!builds:ci.example",
            "kim",
            &[("alertname", "BuildBroken"), ("source", "ci")],
            "runner-1",
        ),
    ];
    for (pack, room, user, labels, target) in cases {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let asked = say(&bot, room, user, &format!("mute {target} for 2 hours")).await;
            assert_eq!(
                asked,
                [format!("I will mute new alert messages matching {target} in this room for 2 hours. Shall I go ahead? (yes/no)")],
                "{pack}"
            );
            let said = say(&bot, room, user, "yes").await;
            assert!(
                said[0].starts_with(&format!(
                    "Muted new alert messages about {target} in this room until "
                )),
                "{pack}: {said:?}"
            );
            let group_of = |job: &str, instance: &str, firing: bool| {
                let mut group = labels.to_vec();
                group.push(("job", job));
                notification(&group, &[(instance, firing)])
            };
            bot.accept_alerts(&group_of("a", &format!("{target}:9100"), true))
                .await
                .unwrap();
            bot.accept_alerts(&group_of("b", "other-host:9100", true))
                .await
                .unwrap();
            until("the unmuted group posted", || chat.sent().len() == 1).await;
            assert!(
                chat.sent()[0].2.contains("other-host"),
                "{pack}: the muted group is held: {:?}",
                chat.sent()
            );
            // Fired and resolved while muted: never posted.
            bot.accept_alerts(&group_of("c", &format!("{target}:9100"), true))
                .await
                .unwrap();
            bot.accept_alerts(&group_of("c", &format!("{target}:9100"), false))
                .await
                .unwrap();
            let listed = say(&bot, room, user, "what is muted").await;
            assert!(
                listed[0].contains(&format!("• {target} until ")),
                "{pack}: {listed:?}"
            );
            let elsewhere = say(&bot, "!elsewhere", user, "what is muted").await;
            assert_eq!(elsewhere, ["No alerts are muted in this room."], "{pack}");
            let lifted = say(&bot, room, user, &format!("unmute {target}")).await;
            assert!(
                lifted[0].starts_with(&format!("Unmuted {target}")),
                "{pack}: {lifted:?}"
            );
            until("the held group posted", || chat.sent().len() == 2).await;
            assert!(
                chat.sent()[1].2.contains(target),
                "{pack}: {:?}",
                chat.sent()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(
                chat.sent().len(),
                2,
                "{pack}: what came and went while muted stays unposted"
            );
            let again = say(&bot, room, user, &format!("unmute {target}")).await;
            assert_eq!(
                again,
                [format!("Nothing about {target} is muted in this room.")],
                "{pack}"
            );
            let refused = say(&bot, room, user, &format!("mute {target} for 30 days")).await;
            assert!(
                refused[0]
                    .starts_with("I did not mute anything: a mute lasts from 1 minute to 7 days"),
                "{pack}: {refused:?}"
            );
            let audited: Vec<String> = bot
                .store()
                .audit_oldest_first()
                .map(|r| r.unwrap().dialog)
                .collect();
            assert_eq!(audited, ["mute_alerts", "unmute_alerts"], "{pack}");
            let kinds: Vec<crate::alerts::AlertEventKind> = bot
                .store()
                .alert_events(None)
                .unwrap()
                .into_iter()
                .filter(|e| e.group.is_empty())
                .map(|e| e.kind)
                .collect();
            assert_eq!(
                kinds,
                [
                    crate::alerts::AlertEventKind::Muted,
                    crate::alerts::AlertEventKind::Unmuted
                ],
                "{pack}"
            );
        });
    }
}

/// The group `job` of `labels`, one alert on `instance`.
fn job_group(labels: Pairs, job: &str, firing: bool) -> Notification {
    let mut group = labels.to_vec();
    group.push(("job", job));
    notification(&group, &[(&format!("{job}:1"), firing)])
}

#[test]
fn groups_over_a_routes_rate_limit_share_one_digest_message_on_two_packs() {
    for (pack, route, room, labels) in PACK_GROUPS {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot_changed(pack, state.path(), MemoryStore::new(), |p| {
            p.settings.alerts.as_mut().unwrap().routes[route].rate_limit =
                Some(opsbot_spec::RouteRateLimit {
                    messages: 3,
                    per: Duration::from_secs(3600),
                });
        }));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            for i in 0..8 {
                bot.accept_alerts(&job_group(labels, &format!("job{i}"), true))
                    .await
                    .unwrap();
            }
            until("three messages and a digest of five", || {
                chat.shown()
                    .get(room)
                    .is_some_and(|texts| texts.len() == 4 && texts[3].contains("(5 alert groups)"))
            })
            .await;
            let texts = &chat.shown()[room];
            assert!(
                texts[..3].iter().all(|t| t.starts_with("🔥 FIRING")),
                "{pack}: {texts:?}"
            );
            assert!(
                texts[3].starts_with("📋 More alerts for route "),
                "{pack}: {}",
                texts[3]
            );
            assert_eq!(
                texts[3].lines().count(),
                6,
                "{pack}: title and five members: {}",
                texts[3]
            );
            // A member resolving edits the digest, not a message of its own.
            bot.accept_alerts(&job_group(labels, "job7", false))
                .await
                .unwrap();
            until("the digest shows the resolution", || {
                chat.shown()[room][3].contains("✅ RESOLVED")
            })
            .await;
            assert_eq!(chat.sent().len(), 4, "{pack}: no new message");
        });
    }
}

#[test]
fn quiet_hours_hold_all_but_critical_alerts_for_a_digest_at_their_end_on_two_packs() {
    for (pack, _, room, labels) in PACK_GROUPS {
        let state = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now();
        let clock = |t: chrono::DateTime<chrono::Utc>| t.time().with_nanosecond(0).unwrap();
        let bot = Arc::new(bot_changed(pack, state.path(), MemoryStore::new(), |p| {
            p.settings.alerts.as_mut().unwrap().quiet_hours = vec![opsbot_spec::QuietHours {
                rooms: vec![room.to_string()],
                from: clock(now - chrono::Duration::hours(1)),
                to: clock(now + chrono::Duration::hours(1)),
            }];
        }));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            bot.accept_alerts(&job_group(labels, "quiet", true))
                .await
                .unwrap();
            let mut critical = labels.to_vec();
            critical.retain(|(k, _)| *k != "severity");
            critical.push(("severity", "critical"));
            critical.push(("job", "loud"));
            bot.accept_alerts(&notification(&critical, &[("loud:1", true)]))
                .await
                .unwrap();
            let here = || -> Vec<String> {
                chat.sent()
                    .into_iter()
                    .filter(|(r, _, _)| r == room)
                    .map(|(_, _, t)| t)
                    .collect()
            };
            until("the critical alert posted", || here().len() == 1).await;
            assert!(
                here()[0].contains("severity: critical"),
                "{pack}: {:?}",
                here()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(
                here().len(),
                1,
                "{pack}: the rest waits for the end of quiet hours"
            );
            bot.advance_clock(Duration::from_secs(2 * 3600));
            until("the quiet-hours digest posted", || here().len() == 2).await;
            let digest = &here()[1];
            assert!(
                digest.starts_with("🌙 Held during quiet hours, until "),
                "{pack}: {digest}"
            );
            assert!(
                digest.contains("(1 alert groups)") && digest.contains("quiet"),
                "{pack}: {digest}"
            );
        });
    }
}
