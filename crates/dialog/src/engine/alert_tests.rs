//! A request about an alert takes the values its route gives, says where they
//! came from, validates them like any other value, and never overrides what
//! the person said. On the example bot and the database test pack.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::TimeZone;
use opsbot_nlu::{EntityExtractor, IntentGuess};

use super::*;

fn load(relative: &str) -> Project {
    opsbot_spec::load_project(&Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
        .expect("the bot loads")
}

fn alert(name: &str, values: &[(&str, &str)]) -> AlertContext {
    AlertContext {
        id: format!("!room\u{0}{{}}:{{alertname=\"{name}\"}}"),
        name: name.into(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Starts `intent` with `text` about `alert`; the transition and the request.
fn start(project: &Project, text: &str, intent: &str, alert: &AlertContext) -> Transition {
    let u = Understanding {
        text: text.into(),
        intent: Some(IntentGuess {
            name: intent.into(),
            confidence: 0.9,
        }),
        ranking: Vec::new(),
        ambiguous: Vec::new(),
        entities: EntityExtractor::new(project).candidates(text),
        unserved: None,
        unsure: None,
        meant: None,
        unknown: Vec::new(),
    };
    let mut ctx = Context::new(
        "priya",
        "!room",
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap(),
    );
    ctx.alert = Some(alert);
    step(project, Conversation::default(), Input::Message(&u), &ctx)
}

fn request(t: &Transition) -> &Request {
    t.conversation.request().expect("a request is open")
}

#[test]
fn an_alert_fills_the_slots_its_route_names_and_the_confirmation_says_so() {
    let example = load("../..");
    let apache = alert("ApacheDown", &[("host", "web-01"), ("service", "apache")]);
    let t = start(&example, "restart it", "restart_service", &apache);
    assert_eq!(
        t.replies,
        ["I will restart apache on web-01. Shall I go ahead? (yes/no) — service and host from the alert ApacheDown"]
    );
    let r = request(&t);
    assert_eq!(r.slots["host"].origin, SlotOrigin::FromAlert);
    assert_eq!(
        r.alert.as_ref().map(|a| a.name.as_str()),
        Some("ApacheDown")
    );

    let db = load("../../tests/packs/dbops");
    let lag = alert("PostgresDown", &[("database", "orders")]);
    let t = start(&db, "back up the database", "backup_database", &lag);
    assert_eq!(
        t.replies,
        ["I will back up orders (compression level 6). Shall I go ahead? (yes/no) — database from the alert PostgresDown"]
    );
}

#[test]
fn what_the_person_says_wins_over_the_alert() {
    let example = load("../..");
    let apache = alert("ApacheDown", &[("host", "web-01"), ("service", "apache")]);
    let t = start(&example, "restart nginx on it", "restart_service", &apache);
    let r = request(&t);
    assert_eq!(r.slots["service"].value, "nginx");
    assert_eq!(r.slots["service"].origin, SlotOrigin::Extracted);
    assert_eq!(r.slots["host"].origin, SlotOrigin::FromAlert);
    assert!(
        t.replies[0].ends_with("— host from the alert ApacheDown"),
        "{:?}",
        t.replies
    );

    let db = load("../../tests/packs/dbops");
    let t = start(
        &db,
        "back up billing",
        "backup_database",
        &alert("PostgresDown", &[("database", "orders")]),
    );
    let r = request(&t);
    assert_eq!(r.slots["database"].value, "billing");
    assert_eq!(r.alert, None, "nothing came from the alert");
    assert!(!t.replies[0].contains("from the alert"), "{:?}", t.replies);
}

#[test]
fn a_value_the_slot_refuses_is_said_and_asked_for() {
    let example = load("../..");
    let bad = alert(
        "ApacheDown",
        &[("host", "web 01; rm -rf /"), ("service", "apache")],
    );
    let t = start(&example, "restart it", "restart_service", &bad);
    assert!(
        t.replies[0].starts_with("From the alert ApacheDown:"),
        "{:?}",
        t.replies
    );
    assert!(matches!(&t.conversation.phase, Phase::Collecting { asking, .. } if asking == "host"));

    let db = load("../../tests/packs/dbops");
    let t = start(
        &db,
        "back up the database",
        "backup_database",
        &alert("PostgresDown", &[("database", "nosuchdb")]),
    );
    assert!(
        t.replies[0].starts_with("From the alert PostgresDown:"),
        "{:?}",
        t.replies
    );
    assert!(
        matches!(&t.conversation.phase, Phase::Collecting { asking, .. } if asking == "database")
    );
}

#[test]
fn a_value_carried_over_from_the_persons_last_request_wins_over_the_alert() {
    // Restarted apache on web-01 a minute ago; an nginx alert is the room's
    // latest. "restart it on web-02" means apache, as it would without the alert.
    let example = load("../..");
    let nginx = alert("NginxDown", &[("host", "web-05"), ("service", "nginx")]);
    let mut conversation = Conversation::default();
    conversation.memory.insert(
        "service".into(),
        Remembered {
            entity: "service".into(),
            value: "apache".into(),
            at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 59, 0).unwrap(),
        },
    );
    let text = "restart it on web-02";
    let u = Understanding {
        text: text.into(),
        intent: Some(IntentGuess {
            name: "restart_service".into(),
            confidence: 0.9,
        }),
        ranking: Vec::new(),
        ambiguous: Vec::new(),
        entities: EntityExtractor::new(&example).candidates(text),
        unserved: None,
        unsure: None,
        meant: None,
        unknown: Vec::new(),
    };
    let mut ctx = Context::new(
        "priya",
        "!room",
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap(),
    );
    ctx.alert = Some(&nginx);
    let t = step(&example, conversation, Input::Message(&u), &ctx);
    let r = request(&t);
    assert_eq!(r.slots["service"].value, "apache", "{:?}", t.replies);
    assert_eq!(r.slots["service"].origin, SlotOrigin::CarriedOver);
    assert_eq!(r.slots["host"].value, "web-02");
    assert_eq!(r.alert, None, "nothing came from the alert");
}

#[test]
fn with_several_alerts_open_none_fills_a_slot_and_the_bot_asks_which() {
    let cases = [
        (
            load("../.."),
            "restart it",
            "restart_service",
            [
                alert("ApacheDown", &[("host", "web-01"), ("service", "apache")]),
                alert("NginxDown", &[("host", "web-77"), ("service", "nginx")]),
            ],
            "service",
        ),
        (
            load("../../tests/packs/dbops"),
            "back up the database",
            "backup_database",
            [
                alert("PostgresDown", &[("database", "orders")]),
                alert("BackupFailed", &[("database", "billing")]),
            ],
            "database",
        ),
    ];
    for (project, text, intent, open, asked) in cases {
        let u = Understanding {
            text: text.into(),
            intent: Some(IntentGuess {
                name: intent.into(),
                confidence: 0.9,
            }),
            ranking: Vec::new(),
            ambiguous: Vec::new(),
            entities: EntityExtractor::new(&project).candidates(text),
            unserved: None,
            unsure: None,
            meant: None,
            unknown: Vec::new(),
        };
        let mut ctx = Context::new(
            "priya",
            "!room",
            Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap(),
        );
        ctx.open_alerts = &open;
        let t = step(&project, Conversation::default(), Input::Message(&u), &ctx);
        assert!(
            t.replies[0].starts_with("2 alerts are open in this room: ")
                && t.replies[0].contains(&format!("{} (", open[0].name))
                && t.replies[0].contains(&format!(") and {} (", open[1].name))
                && t.replies[0].contains("Which one do you mean?"),
            "{text}: {:?}",
            t.replies
        );
        let r = request(&t);
        assert!(
            r.slots.values().all(|v| v.origin != SlotOrigin::FromAlert),
            "{text}: {:?}",
            r.slots
        );
        assert_eq!(r.alert, None);
        assert!(
            matches!(&t.conversation.phase, Phase::Collecting { asking, .. } if asking == asked),
            "{text}: {:?}",
            t.conversation.phase
        );
        // Named outright, nothing is asked about the alerts.
        let said = "back up orders";
        if intent == "backup_database" {
            let u = Understanding {
                text: said.into(),
                entities: EntityExtractor::new(&project).candidates(said),
                ..u
            };
            let t = step(&project, Conversation::default(), Input::Message(&u), &ctx);
            assert!(
                !t.replies.iter().any(|r| r.contains("alerts are open")),
                "{:?}",
                t.replies
            );
        }
    }
}
