//! Requests for later against a real Synapse, with the bot killed (-9) at
//! the firing instant of the middle ones and started again: every request
//! runs at most once, and every requester hears what became of theirs —
//! it ran and here is the result, or the bot lost track of it (outcome
//! unknown), or it never started — never nothing, never twice.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::homeserver::*;
use crate::matrix_sync::names;
use crate::util::Fixture;

/// How many people each schedule a deploy, and how far apart they fall.
const REQUESTS: usize = 6;
const APART: i64 = 2;

/// What a requester can be told at the end of their request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    /// "Starting what … scheduled …" and "… is now deployed to staging."
    Ran,
    /// "I lost track of your request …": killed while it ran.
    OutcomeUnknown,
    /// "I was restarted before your request … started, so nothing was run."
    NotRun,
}

/// What `person` was told in `room` about version `version`, if anything
/// final yet, and every message the bot sent there.
fn told(person: &Person, room: &matrix_sdk::Room, version: &str) -> (Vec<Told>, Vec<String>) {
    let bodies: Vec<String> = person
        .inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.room == room.room_id() && m.replaces.is_none())
        .map(|m| m.body.clone())
        .collect();
    let mut ends = Vec::new();
    for body in &bodies {
        if body == &format!("shop {version} is now deployed to staging.") {
            ends.push(Told::Ran);
        } else if body.starts_with("I lost track of your request to deploy") {
            ends.push(Told::OutcomeUnknown);
        } else if body.starts_with("I was restarted before your request to deploy") {
            ends.push(Told::NotRun);
        }
    }
    (ends, bodies)
}

#[test]
fn scheduled_requests_killed_at_their_firing_run_at_most_once_and_are_all_told() {
    let synapse = Synapse::start();
    synapse.register("opsbot");
    let people = names(REQUESTS);
    synapse.register_many(&people);
    let fixture = Fixture::trained();
    // A deploy takes a second before it writes its line: a kill lands
    // while one runs.
    let script = fixture.path().join("actions/deploy.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        text.replacen("mkdir -p \"$state\"\n", "mkdir -p \"$state\"\nsleep 1\n", 1),
    )
    .unwrap();
    // Health and metrics on their own listener (no `alerts:` here).
    let health = free_port();
    let settings = fixture.path().join("opsbot.yaml");
    let mut yaml = std::fs::read_to_string(&settings).unwrap();
    yaml.push_str(&format!("\nhealth_listen: 127.0.0.1:{health}\n"));
    std::fs::write(&settings, yaml).unwrap();
    let inviters: Vec<&str> = people.iter().map(String::as_str).collect();
    let config = matrix_config(&fixture, &synapse, &inviters, "");
    let log = synapse.log_file();
    run_scenario(&fixture, &log, async {
        let bot = start_bot(&fixture, &config);
        let mut persons = Vec::new();
        let mut rooms = Vec::new();
        for name in &people {
            let person = Person::login(&synapse.url(), name).await;
            rooms.push(person.room_with(&["opsbot"], true).await);
            persons.push(person);
        }
        // Due times APART seconds apart, all at least 61 seconds out, so
        // one wait covers them all.
        let first = chrono::Utc::now() + chrono::Duration::seconds(62 + 2 * REQUESTS as i64);
        let mut due = Vec::new();
        for (i, (person, room)) in persons.iter_mut().zip(&rooms).enumerate() {
            let target = first + chrono::Duration::seconds(APART * i as i64);
            let now = chrono::Utc::now();
            let delay = (target - now).num_seconds();
            assert!(delay >= 61, "scheduling took too long: {delay} s left");
            let version = format!("1.{}", i + 1);
            let asked = person
                .ask(
                    room,
                    &format!("deploy shop {version} to staging in {delay} seconds"),
                )
                .await;
            assert!(
                asked.starts_with(&format!("“in {delay} seconds” is ")),
                "{asked}"
            );
            let scheduled = person.ask(room, "yes").await;
            assert!(scheduled.starts_with("Scheduled for "), "{scheduled}");
            due.push(now + chrono::Duration::seconds(delay));
        }

        // Ready (the store answers, the homeserver is reached) and counting.
        crate::alerts::wait_for("the bot to be ready", || {
            crate::util::http(health, "GET", "/readyz", &[], b"").0 == 200
        });
        let (status, metrics) = crate::util::http(health, "GET", "/metrics", &[], b"");
        assert_eq!(status, 200, "{metrics}");
        assert!(
            metrics.contains("opsbot_messages_total{door=\"matrix\",outcome=\"handled\"}"),
            "{metrics}"
        );

        // Killed at the firing instant of the middle request (a moment into
        // it, so its deploy is likely running), and started again at once:
        // the ones after it come due while it is down or starting.
        let middle = REQUESTS / 2;
        let until = (due[middle] - chrono::Utc::now() + chrono::Duration::milliseconds(300))
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(until).await;
        bot.kill9();
        let bot = start_bot(&fixture, &config);

        // Settled: every requester has been told how theirs ended.
        let started = Instant::now();
        loop {
            let pending: Vec<String> = persons
                .iter()
                .zip(&rooms)
                .enumerate()
                .filter(|(i, (p, r))| told(p, r, &format!("1.{}", i + 1)).0.is_empty())
                .map(|(i, _)| people[i].clone())
                .collect();
            if pending.is_empty() {
                break;
            }
            assert!(
                started.elapsed() < WAIT * 3,
                "never told: {pending:?}; deploys: {:?}",
                std::fs::read_to_string(fixture.state().join("deploys.tsv"))
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // A second run or a second report would arrive by now, and a deploy
        // left running by the killed process has written its line.
        tokio::time::sleep(Duration::from_secs(4)).await;
        drop(bot);

        let deploys =
            std::fs::read_to_string(fixture.state().join("deploys.tsv")).unwrap_or_default();
        let audit = crate::util::stdout(&fixture.run(&["audit", "--json"], ""));
        let records: Vec<serde_json::Value> = audit
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut endings: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, (person, room)) in persons.iter().zip(&rooms).enumerate() {
            let version = format!("1.{}", i + 1);
            let who = &people[i];
            let lines = deploys
                .lines()
                .filter(|l| l.ends_with(&format!("\tshop\t{version}\tstaging")))
                .count();
            let (ends, bodies) = told(person, room, &version);
            assert!(lines <= 1, "{who}: deployed {lines} times: {deploys}");
            assert_eq!(ends.len(), 1, "{who}: told once how it ended: {bodies:?}");
            let starts = bodies
                .iter()
                .filter(|b| {
                    b.starts_with("Starting what ")
                        && b.contains(&format!("deploy shop {version} "))
                })
                .count();
            assert!(starts <= 1, "{who}: started twice: {bodies:?}");
            let outcomes: Vec<&str> = records
                .iter()
                .filter(|r| r["slots"]["version"]["value"] == version.as_str())
                .map(|r| r["outcome"].as_str().unwrap())
                .filter(|o| *o != "scheduled")
                .collect();
            assert_eq!(outcomes.len(), 1, "{who}: one audited ending: {outcomes:?}");
            let expected = match ends[0] {
                Told::Ran => {
                    assert_eq!(lines, 1, "{who}: reported run, deployed once: {deploys}");
                    assert_eq!(starts, 1, "{who}: {bodies:?}");
                    "succeeded"
                }
                // Killed while it ran: its deploy may have finished after.
                Told::OutcomeUnknown => "outcome_unknown",
                Told::NotRun => {
                    assert_eq!(lines, 0, "{who}: said not run, yet deployed: {deploys}");
                    "not_run"
                }
            };
            assert_eq!(outcomes[0], expected, "{who}: {bodies:?}");
            *endings.entry(expected).or_default() += 1;
            // The ones due well before the kill ran normally.
            if i + 1 < middle {
                assert_eq!(ends[0], Told::Ran, "{who}: {bodies:?}");
            }
        }
        eprintln!("scheduled requests across a kill -9: {endings:?}");
        let verified = fixture.run(&["audit", "verify"], "");
        assert!(
            crate::util::stdout(&verified).starts_with("ok:"),
            "{}",
            crate::util::stdout(&verified)
        );
    });
}
