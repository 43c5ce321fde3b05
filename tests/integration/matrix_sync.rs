//! The Matrix adapter under load, against a real Synapse: a burst sent while
//! the bot is down, larger than a sync timeline holds, is answered in full,
//! once, in order per person; Synapse's stock message rate limit is waited
//! out as it asks; mentions anywhere, line breaks, and the requester mentioned
//! on the outcome of a request.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::Room;

use crate::homeserver::*;
use crate::util::Fixture;

/// Persons `u01` … `uNN`, logged in, all in one group room with the bot.
pub(crate) async fn crowd(synapse: &Synapse, count: usize) -> (Vec<Person>, Room) {
    let names = names(count);
    let mut people = Vec::new();
    for name in &names {
        people.push(Person::login(&synapse.url(), name).await);
    }
    let mut others: Vec<&str> = names[1..].iter().map(String::as_str).collect();
    others.push("opsbot");
    let room = people[0].room_with(&others, false).await;
    (people, room)
}

pub(crate) fn names(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("u{i:02}")).collect()
}

/// The bot's messages in `room` that `observer` has seen, each with the
/// person it is addressed to (its "name: " prefix), new messages only.
fn addressed(observer: &Person, room: &Room) -> Vec<(String, String)> {
    observer
        .inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.room == room.room_id() && m.replaces.is_none())
        .filter_map(|m| {
            let (who, text) = m.body.split_once(": ")?;
            Some((who.to_string(), text.to_string()))
        })
        .collect()
}

/// Waits until `observer` has seen `count` addressed messages in `room`.
async fn wait_for(observer: &Person, room: &Room, count: usize, within: Duration) {
    let started = Instant::now();
    loop {
        let seen = addressed(observer, room).len();
        if seen >= count {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{seen} of {count} replies after {within:?}: {:?}",
            addressed(observer, room)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn a_burst_sent_while_the_bot_is_down_is_answered_once_in_order() {
    const PEOPLE: usize = 25;
    let synapse = Synapse::start();
    synapse.register("opsbot");
    synapse.register_many(&names(PEOPLE));
    let fixture = Fixture::trained();
    // Synapse's own default timeline limit: a 50-message burst leaves a gap.
    let config = matrix_config(&fixture, &synapse, &["u01"], "sync_timeline_limit: 10\n");
    let log = synapse.log_file();
    run_scenario(&fixture, &log, async {
        let bot = start_bot(&fixture, &config);
        let (mut people, room) = crowd(&synapse, PEOPLE).await;
        let answer = people[0].ask(&room, "opsbot: who is on call").await;
        assert!(answer.starts_with("u01: "), "{answer}");
        let before = addressed(&people[0], &room).len();

        // Killed, not stopped: the token it resumes from may be behind what
        // it already answered, and nothing may be answered twice.
        bot.kill9();
        for round in ["opsbot: who is on call", "opsbot: hello"] {
            for person in people.iter_mut() {
                person.say(&room, round).await;
            }
        }
        let bot = start_bot(&fixture, &config);
        wait_for(&people[0], &room, before + 2 * PEOPLE, WAIT * 3).await;
        // Anything answered twice would arrive by now.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let replies = addressed(&people[0], &room);
        let mut per_person: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (who, text) in &replies[before..] {
            per_person
                .entry(who.clone())
                .or_default()
                .push(text.clone());
        }
        assert_eq!(
            per_person.len(),
            PEOPLE,
            "everyone answered: {per_person:?}"
        );
        for (who, texts) in &per_person {
            assert_eq!(texts.len(), 2, "{who} answered exactly twice: {texts:?}");
            assert!(
                texts[0].contains("is on call for platform"),
                "{who}: the first message first: {texts:?}"
            );
            assert!(
                texts[1].starts_with(&format!("Hello @{who}:localhost")),
                "{who}: then the second: {texts:?}"
            );
        }
        let log = std::fs::read_to_string(fixture.path().join("bot.log")).unwrap();
        assert!(
            log.contains("the sync skipped events; fetched them"),
            "the burst was larger than one timeline, so a gap was filled"
        );
        assert!(
            !log.contains(" ERROR "),
            "normal operation logs no errors: {}",
            log.lines()
                .filter(|l| l.contains(" ERROR "))
                .collect::<Vec<_>>()
                .join("\n")
        );

        // Addressed anywhere: a mention in the middle, at the end, and an
        // Element pill (the display name in the body, the id in m.mentions).
        let alice = &mut people[1];
        for text in ["hey @opsbot who is on call", "who is on call @opsbot"] {
            let reply = alice.ask(&room, text).await;
            assert!(
                reply.contains("is on call for platform"),
                "{text:?}: {reply}"
            );
        }
        let pill = RoomMessageEventContent::text_html(
            "who is on call opsbot",
            "who is on call <a href=\"https://matrix.to/#/@opsbot:localhost\">opsbot</a>",
        )
        .add_mentions(Mentions::with_user_ids([Person::user_id("opsbot")]));
        alice.send(&room, pill).await;
        assert!(alice.reply(&room).await.contains("is on call for platform"));

        // A line break (\r\n from some clients) is a space.
        assert_eq!(
            alice
                .ask(&room, "opsbot: restart apache\r\non web-01")
                .await,
            "u02: I will restart apache on web-01. Shall I go ahead? (yes/no)"
        );
        // The outcome mentions the requester, and notifies them.
        alice.say(&room, "yes").await;
        let done = alice.replies(&room, 2).await;
        assert_eq!(done[0].body, "u02: Restarting apache on web-01 …");
        assert_eq!(
            done[1].body,
            "u02: The apache service has been restarted on web-01."
        );
        assert_eq!(done[1].mentions, [Person::user_id("u02")], "{done:?}");
        drop(bot);
    });
}

#[test]
fn stock_rate_limits_are_waited_out_as_synapse_asks() {
    const PEOPLE: usize = 16;
    let synapse = Synapse::start_with(MessageLimit::Stock);
    synapse.register("opsbot");
    synapse.register_many(&names(PEOPLE));
    // The CI/CD test pack (its alert listener left out: not needed here).
    let fixture = Fixture::trained_pack("cicd");
    let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
    fixture.write("opsbot.yaml", settings.split("\nalerts:").next().unwrap());
    let config = matrix_config(&fixture, &synapse, &["u01"], "");
    let log = synapse.log_file();
    run_scenario(&fixture, &log, async {
        let _bot = start_bot(&fixture, &config);
        let (mut people, room) = crowd(&synapse, PEOPLE).await;
        // Everyone at once: more replies than Synapse's burst of ten.
        for person in people.iter_mut() {
            person
                .say(&room, "opsbot: what is the status of frontend")
                .await;
        }
        wait_for(&people[0], &room, PEOPLE, WAIT * 6).await;
        let replies = addressed(&people[0], &room);
        let mut who: Vec<&str> = replies.iter().map(|(w, _)| w.as_str()).collect();
        who.sort();
        who.dedup();
        assert_eq!(who.len(), PEOPLE, "each answered: {replies:?}");
        assert!(
            replies
                .iter()
                .all(|(_, text)| text.starts_with("frontend: ")),
            "{replies:?}"
        );
        // Synapse writes INFO lines in batches every few seconds.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let refused = synapse.answered(BOT, 429);
        assert!(
            refused >= 1,
            "the burst met the rate limit (else this proves nothing)"
        );
        assert!(
            refused <= 4,
            "{refused} requests refused for the rate limit: each wait is as long as Synapse asks, and later messages keep the pace"
        );
    });
}
