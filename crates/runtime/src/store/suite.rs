//! One round-trip suite for every [`Store`]: what one backend keeps, the other
//! keeps the same way (teloxide's storage pattern). Each test runs against the
//! sled store in a temporary folder and against the in-memory store.

use chrono::{Duration, Utc};
use opsbot_dialog::{Conversation, Phase, Request};

use super::{
    Commit, ConversationKey, Job, JournalStatus, LockChange, MemoryStore, SledStore, Store,
};
use crate::audit::AuditRecord;
use crate::seal::AuditKey;
use crate::totp::TotpRecord;
use crate::RuntimeError;

/// Runs `check` against each backend, naming the backend on failure.
fn each_store(check: impl Fn(&dyn Store)) {
    let dir = tempfile::tempdir().unwrap();
    let key = || AuditKey::from_bytes([7; 32]);
    let sled = SledStore::open_with(&dir.path().join("db"), key(), dir.path().join("copy.log"))
        .expect("sled store opens");
    let memory = MemoryStore::with_key(key());
    for (name, store) in [("sled", &sled as &dyn Store), ("memory", &memory)] {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(store)));
        if let Err(panic) = outcome {
            eprintln!("the {name} store failed the check");
            std::panic::resume_unwind(panic);
        }
    }
}

fn request(id: &str) -> Request {
    let now = Utc::now();
    Request {
        id: id.into(),
        dialog: "restart".into(),
        intent: "restart_service".into(),
        confidence: 0.9,
        slots: Default::default(),
        messages: vec!["restart apache".into()],
        failed_answers: 0,
        confirmed_by: Some("alice".into()),
        approved_by: None,
        declined_by: None,
        two_factor: false,
        dry_run: false,
        started_at: now,
        alert: None,
        touched_at: now,
        offered: Vec::new(),
        checked: Default::default(),
        at: None,
        at_said: None,
        proposed_by: None,
        runbook: None,
    }
}

fn in_phase(phase: Phase) -> Conversation {
    Conversation {
        phase,
        ..Conversation::default()
    }
}

#[test]
fn a_conversation_reads_back_as_committed() {
    each_store(|store| {
        let alice = ConversationKey::new("room", "alice");
        assert_eq!(store.load(&alice).unwrap(), Conversation::default());
        let waiting = in_phase(Phase::AwaitingConfirmation {
            request: request("r1"),
        });
        store
            .commit(&alice, &waiting, Commit::at(chrono::Utc::now()))
            .unwrap();
        assert_eq!(store.load(&alice).unwrap(), waiting);
        store
            .commit(
                &alice,
                &Conversation::default(),
                Commit::at(chrono::Utc::now()),
            )
            .unwrap();
        assert_eq!(store.load(&alice).unwrap(), Conversation::default());
        assert_eq!(
            store.load(&ConversationKey::new("room", "bob")).unwrap(),
            Conversation::default(),
            "another user's conversation is their own"
        );
    });
}

#[test]
fn rooms_and_running_actions_are_listed_without_prefix_confusion() {
    each_store(|store| {
        let executing = in_phase(Phase::Executing {
            request: request("r1"),
        });
        for (room, user) in [("room", "alice"), ("room", "bob"), ("room2", "carol")] {
            let key = ConversationKey::new(room, user);
            let state = if user == "bob" {
                Conversation::default()
            } else {
                executing.clone()
            };
            store
                .commit(&key, &state, Commit::at(chrono::Utc::now()))
                .unwrap();
        }
        let mut in_room: Vec<String> = store
            .conversations_in("room")
            .unwrap()
            .into_iter()
            .map(|(key, _)| key.user)
            .collect();
        in_room.sort();
        assert_eq!(in_room, ["alice", "bob"]);
        assert!(store.conversations_in("roo").unwrap().is_empty());
        let mut running = store.executing_conversations().unwrap();
        running.sort();
        assert_eq!(
            running,
            [
                ConversationKey::new("room", "alice"),
                ConversationKey::new("room2", "carol")
            ]
        );
    });
}

#[test]
fn audit_records_are_chained_in_order_and_verify() {
    each_store(|store| {
        let alice = ConversationKey::new("room", "alice");
        assert_eq!(store.chain_head().unwrap(), None);
        for batch in [vec!["first", "second"], vec![], vec!["third"]] {
            let change = Commit {
                records: batch.iter().map(|d| AuditRecord::test_record(d)).collect(),
                ..Commit::at(Utc::now())
            };
            let stored = store
                .commit(&alice, &Conversation::default(), change)
                .unwrap();
            assert_eq!(stored.len(), batch.len(), "every record comes back stored");
        }
        let oldest: Vec<AuditRecord> = store.audit_oldest_first().map(Result::unwrap).collect();
        let ids: Vec<u64> = oldest.iter().map(|r| r.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let dialogs: Vec<&str> = oldest.iter().map(|r| r.dialog.as_str()).collect();
        assert_eq!(dialogs, ["first", "second", "third"]);
        assert_eq!(oldest[1].prev_hash, oldest[0].hash, "linked");
        assert_eq!(oldest[2].prev_hash, oldest[1].hash, "linked across commits");
        let newest: Vec<u64> = store.audit_newest_first().map(|r| r.unwrap().id).collect();
        assert_eq!(newest, [3, 2, 1]);
        let head = store.chain_head().unwrap().unwrap();
        assert_eq!((head.id, head.hash.as_str()), (3, oldest[2].hash.as_str()));
        let verification = store.verify_audit().unwrap();
        assert_eq!(verification.records, 3);
        assert!(verification.problems.is_empty(), "{verification:?}");
    });
}

#[test]
fn the_journal_follows_an_action_through_its_life() {
    each_store(|store| {
        let alice = ConversationKey::new("room", "alice");
        assert_eq!(store.journal_entry("r1").unwrap(), None);
        let planned = Commit {
            journal: vec![("r1".into(), JournalStatus::Planned)],
            ..Commit::at(Utc::now())
        };
        store
            .commit(&alice, &Conversation::default(), planned)
            .unwrap();
        assert_eq!(
            store.journal_entry("r1").unwrap().unwrap().status,
            JournalStatus::Planned
        );
        store.mark_started("r1", Utc::now()).unwrap();
        assert_eq!(
            store.journal_entry("r1").unwrap().unwrap().status,
            JournalStatus::Started
        );
        let finished = Commit {
            journal: vec![("r1".into(), JournalStatus::Finished)],
            ..Commit::at(Utc::now())
        };
        store
            .commit(&alice, &Conversation::default(), finished)
            .unwrap();
        assert_eq!(
            store.journal_entry("r1").unwrap().unwrap().status,
            JournalStatus::Finished
        );
    });
}

/// Jobs are written with a step's commit, soonest first; a commit that
/// unschedules and schedules the same id (put back) keeps the new one.
#[test]
fn scheduled_requests_are_kept_until_a_commit_forgets_them() {
    each_store(|store| {
        let alice = ConversationKey::new("room", "alice");
        let job = |id: &str, hours: i64| {
            Job::of_request(
                alice.clone(),
                Request {
                    at: Some(Utc::now() + Duration::hours(hours)),
                    ..request(id)
                },
            )
        };
        let scheduled = Commit {
            schedule: vec![job("late", 3), job("soon", 1)],
            ..Commit::at(Utc::now())
        };
        store
            .commit(&alice, &Conversation::default(), scheduled)
            .unwrap();
        let ids: Vec<String> = store
            .jobs()
            .unwrap()
            .iter()
            .map(|j| j.id().to_string())
            .collect();
        assert_eq!(ids, ["soon", "late"]);
        assert!(store.job("soon").unwrap().is_some_and(|j| j.key == alice));
        assert!(store.job("nope").unwrap().is_none());
        let put_back = Commit {
            unschedule: vec!["soon".into(), "late".into()],
            schedule: vec![job("soon", 5)],
            ..Commit::at(Utc::now())
        };
        store
            .commit(&alice, &Conversation::default(), put_back)
            .unwrap();
        assert!(store.job("late").unwrap().is_none());
        let kept = store.jobs().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(store.job("soon").unwrap().as_ref(), kept.first());
    });
}

#[test]
fn a_runbook_lock_is_held_by_one_conversation_until_it_lets_go() {
    each_store(|store| {
        let alice = ConversationKey::new("room", "alice");
        let bob = ConversationKey::new("other room", "bob");
        let hold = |lock: &str| Commit {
            lock: LockChange::Hold(lock.into()),
            ..Commit::at(Utc::now())
        };
        let running = in_phase(Phase::Executing {
            request: request("r1"),
        });
        store.commit(&alice, &running, hold("pg-main")).unwrap();
        // Held again by its holder: fine.
        store.commit(&alice, &running, hold("pg-main")).unwrap();
        // Another conversation is refused, and nothing of its step is kept.
        let refused = store.commit(&bob, &running, hold("pg-main"));
        assert!(
            matches!(&refused, Err(RuntimeError::Locked { key, holder }) if key == "pg-main" && holder == "alice"),
            "{refused:?}"
        );
        assert_eq!(store.load(&bob).unwrap(), Conversation::default());
        // Another lock is free; a step that keeps the locks as they are
        // (not a conversation's) changes nothing.
        store.commit(&bob, &running, hold("pg-analytics")).unwrap();
        store
            .commit(&alice, &running, Commit::at(Utc::now()))
            .unwrap();
        assert!(store.commit(&bob, &running, hold("pg-main")).is_err());
        // Let go (the run ended): the lock is free for the next run.
        let release = Commit {
            lock: LockChange::Release,
            ..Commit::at(Utc::now())
        };
        store
            .commit(&alice, &Conversation::default(), release)
            .unwrap();
        store.commit(&bob, &running, hold("pg-main")).unwrap();
        // Holding another lock lets go of the one held before.
        assert!(store.commit(&alice, &running, hold("pg-analytics")).is_ok());
    });
}

#[test]
fn executions_are_counted_per_person_in_a_window() {
    each_store(|store| {
        let key = ConversationKey::new("room", "alice");
        for _ in 0..2 {
            let change = Commit {
                execution_by: Some("alice".into()),
                ..Commit::at(Utc::now())
            };
            store
                .commit(&key, &Conversation::default(), change)
                .unwrap();
        }
        let minute = Duration::minutes(1);
        assert_eq!(
            store
                .executions_since("alice", Utc::now() - minute)
                .unwrap(),
            2
        );
        assert_eq!(
            store
                .executions_since("alice", Utc::now() + minute)
                .unwrap(),
            0
        );
        assert_eq!(
            store.executions_since("alic", Utc::now() - minute).unwrap(),
            0,
            "no prefix confusion"
        );
        assert_eq!(
            store.executions_since("bob", Utc::now() - minute).unwrap(),
            0
        );
    });
}

#[test]
fn a_message_id_is_seen_once_until_forgotten() {
    each_store(|store| {
        assert!(store.first_sighting("$event1", chrono::Utc::now()).unwrap());
        assert!(
            !store.first_sighting("$event1", chrono::Utc::now()).unwrap(),
            "a redelivery"
        );
        assert!(store.first_sighting("$event2", chrono::Utc::now()).unwrap());
        assert_eq!(
            store
                .forget_sightings(Utc::now() - Duration::minutes(1))
                .unwrap(),
            0,
            "recent ids are kept"
        );
        assert_eq!(
            store
                .forget_sightings(Utc::now() + Duration::seconds(1))
                .unwrap(),
            2
        );
        assert!(store.first_sighting("$event1", chrono::Utc::now()).unwrap());
    });
}

#[test]
fn two_factor_records_round_trip() {
    each_store(|store| {
        assert_eq!(store.totp("alice").unwrap(), None);
        let mut record = TotpRecord::generate(Utc::now());
        store.put_totp("alice", &record).unwrap();
        assert_eq!(store.totp("alice").unwrap().as_ref(), Some(&record));
        record.failures = 3;
        store.put_totp("alice", &record).unwrap();
        assert_eq!(store.totp("alice").unwrap().unwrap().failures, 3);
        assert_eq!(store.totp("bob").unwrap(), None);
        assert!(store.remove_totp("alice").unwrap());
        assert!(!store.remove_totp("alice").unwrap());
        assert_eq!(store.totp("alice").unwrap(), None);
    });
}

#[test]
fn owed_notices_accumulate_until_cleared() {
    each_store(|store| {
        let alice = ConversationKey::new("room", "alice");
        let bob = ConversationKey::new("room", "bob");
        assert!(store.notices_of(&alice).unwrap().is_empty());
        store.add_notices(&alice, &["one".into()]).unwrap();
        store.add_notices(&alice, &[]).unwrap();
        store.add_notices(&alice, &["two".into()]).unwrap();
        assert_eq!(store.notices_of(&alice).unwrap(), ["one", "two"]);
        assert!(store.notices_of(&bob).unwrap().is_empty());
        store.clear_notices(&alice).unwrap();
        assert!(store.notices_of(&alice).unwrap().is_empty());
        store.clear_notices(&bob).unwrap();
    });
}

#[test]
fn alert_groups_round_trip_by_room_and_group() {
    each_store(|store| {
        let body = r#"{"version":"4","groupKey":"{}:{alertname=\"ApacheDown\"}","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"ApacheDown","instance":"web-01:80"},"startsAt":"2026-11-25T10:00:00Z","fingerprint":"f1"}]}"#;
        let notification = crate::alerts::Notification::parse(body.as_bytes()).unwrap();
        let mut web = crate::alerts::AlertGroup::new("!web", "web", &notification, Utc::now());
        let ops = crate::alerts::AlertGroup::new("!ops", "ops", &notification, Utc::now());
        assert_eq!(store.alert_groups().unwrap(), []);
        store.save_alerts(&[web.clone(), ops.clone()], &[]).unwrap();
        let id = crate::alerts::AlertGroup::id("!web", &notification.group_key);
        assert_eq!(store.alert_group(&id).unwrap().as_ref(), Some(&web));
        web.delivered = Some(web.text.clone());
        web.message = Some(crate::chat::MessageHandle {
            room: "!web".into(),
            id: "$1".into(),
        });
        store.save_alerts(std::slice::from_ref(&web), &[]).unwrap();
        assert_eq!(
            store.alert_groups().unwrap(),
            [ops, web],
            "one group per room, replaced"
        );
        assert_eq!(store.alert_group("!nowhere\u{0}x").unwrap(), None);
        let in_web: Vec<String> = store
            .alert_groups_in("!web")
            .unwrap()
            .into_iter()
            .map(|g| g.room)
            .collect();
        assert_eq!(in_web, ["!web"]);
        assert!(
            store.alert_groups_in("!we").unwrap().is_empty(),
            "no prefix confusion"
        );
    });
}

#[test]
fn the_alert_timeline_reads_back_oldest_first_from_a_time() {
    each_store(|store| {
        use crate::alerts::{AlertEvent, AlertEventKind};
        let at = |minutes: i64| Utc::now() - Duration::minutes(minutes);
        let event = |minutes, subject: &str| AlertEvent {
            at: at(minutes),
            room: "!web".into(),
            group: "!web\u{0}g".into(),
            kind: AlertEventKind::Fired,
            subject: subject.into(),
            by: None,
            detail: String::new(),
        };
        assert!(store.alert_events(None).unwrap().is_empty());
        store
            .save_alerts(&[], &[event(10, "b"), event(30, "a")])
            .unwrap();
        store
            .save_alerts(&[], &[event(5, "c"), event(5, "d")])
            .unwrap();
        let subjects = |since| -> Vec<String> {
            store
                .alert_events(since)
                .unwrap()
                .into_iter()
                .map(|e| e.subject)
                .collect()
        };
        assert_eq!(subjects(None), ["a", "b", "c", "d"]);
        assert_eq!(subjects(Some(at(20))), ["b", "c", "d"]);
        assert!(subjects(Some(at(-1))).is_empty());
    });
}

#[test]
fn mutes_round_trip_per_room_and_target() {
    each_store(|store| {
        use crate::alerts::Mute;
        let mute = |room: &str, target: &str| Mute {
            room: room.into(),
            target: target.into(),
            until: Utc::now() + Duration::hours(2),
            by: "alice".into(),
            at: Utc::now(),
        };
        assert!(store.mutes_in("!web").unwrap().is_empty());
        store.put_mute(&mute("!web", "web-01")).unwrap();
        store.put_mute(&mute("!web", "WEB-01")).unwrap();
        store.put_mute(&mute("!web", "ApacheDown")).unwrap();
        store.put_mute(&mute("!webx", "web-01")).unwrap();
        let targets: Vec<String> = store
            .mutes_in("!web")
            .unwrap()
            .into_iter()
            .map(|m| m.target)
            .collect();
        assert_eq!(
            targets.len(),
            2,
            "one mute per target whatever its case: {targets:?}"
        );
        assert!(store.remove_mute(&Mute::id("!web", "web-01")).unwrap());
        assert!(!store.remove_mute(&Mute::id("!web", "web-01")).unwrap());
        assert_eq!(store.mutes_in("!web").unwrap().len(), 1);
        assert_eq!(store.mutes_in("!webx").unwrap().len(), 1);
    });
}
