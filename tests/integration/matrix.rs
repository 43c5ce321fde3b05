//! The Matrix adapter end to end: a real Synapse homeserver started on a free
//! loopback port, the real `opsbot run` process, and real matrix-sdk clients
//! for the people. One test drives every scenario on one homeserver, in order.

use std::path::Path;
use std::time::{Duration, Instant};

use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::room::member::MembershipState;

use crate::homeserver::*;
use crate::util::Fixture;

#[test]
fn the_bot_converses_in_matrix_rooms() {
    let synapse = Synapse::start();
    for name in ["opsbot", "alice", "bob", "mallory"] {
        synapse.register(name);
    }
    let fixture = Fixture::trained();
    // Restarts on slow-* hosts take three seconds, and progress shows each second.
    let script = fixture.path().join("actions/restart-service.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        text.replacen(
            "host=$2\n",
            "host=$2\ncase $host in slow-*) sleep 3 ;; esac\n",
            1,
        ),
    )
    .unwrap();
    fixture.append_settings("progress_every: 1s\n");
    let config = matrix_config(
        &fixture,
        &synapse,
        &["alice", "bob"],
        "command_prefix: '!ops'\n",
    );
    let mut synapse = synapse;
    let log = synapse.log_file();
    run_scenario(&fixture, &log, scenarios(&fixture, &config, &mut synapse));
}

async fn scenarios(fixture: &Fixture, config: &Path, synapse: &mut Synapse) {
    let bot = start_bot(fixture, config);
    let url = synapse.url();
    let mut alice = Person::login(&url, "alice").await;
    let mut bob = Person::login(&url, "bob").await;

    // The reference conversation in a group room, addressed by mention.
    let room = alice.room_with(&["opsbot", "bob"], false).await;
    assert_eq!(
        alice.ask(&room, "@opsbot:localhost restart apache").await,
        "alice: On which host would you like to restart apache?"
    );
    assert_eq!(
        alice.ask(&room, "192.168.0.24").await,
        "alice: I will restart apache on 192.168.0.24. Shall I go ahead? (yes/no)"
    );
    alice.say(&room, "yes").await;
    let done = alice.replies(&room, 2).await;
    assert_eq!(done[0].body, "alice: Restarting apache on 192.168.0.24 …");
    // The outcome mentions the requester again: a busy room pings them.
    assert_eq!(
        done[1].body,
        "alice: The apache service has been restarted on 192.168.0.24."
    );
    assert!(done[0]
        .html
        .as_deref()
        .unwrap()
        .starts_with("<a href=\"https://matrix.to/#/@alice:localhost\">alice</a>"));

    // A change for later, asked early so its 70 seconds pass during the
    // scenarios below; checked at the end. The confirmation names the time.
    let asked = chrono::Utc::now();
    let confirm = alice
        .ask(&room, "opsbot: deploy shop 1.2 to staging in 70 seconds")
        .await;
    let when = scheduled_time(&confirm, "alice: “in 70 seconds” is ");
    let minutes: Vec<String> = [10, 70, 130]
        .iter()
        .map(|s| {
            (asked + chrono::Duration::seconds(*s))
                .format("%H:%M")
                .to_string()
        })
        .collect();
    assert!(
        minutes.iter().any(|m| when.contains(&format!("{m} UTC"))),
        "the time 70 seconds from now is named: {confirm}"
    );
    assert!(
        confirm.ends_with(
            "so this waits until then: I will deploy shop 1.2 to staging. Shall I go ahead and schedule it for then? (yes/no)"
        ),
        "{confirm}"
    );
    let scheduled = alice.ask(&room, "yes").await;
    assert!(
        scheduled.starts_with(&format!("alice: Scheduled for {when}")),
        "{scheduled}"
    );

    // All slots at once, by display name and by prefix; unaddressed chatter is ignored.
    assert_eq!(
        alice
            .ask(&room, "opsbot: please bounce nginx on web-01")
            .await,
        "alice: I will restart nginx on web-01. Shall I go ahead? (yes/no)"
    );
    assert_eq!(
        alice.ask(&room, "no").await,
        "alice: Okay, I cancelled that. Nothing was run."
    );
    bob.say(&room, "lunch anyone?").await;
    assert!(
        bob.ask(&room, "!ops who is on call")
            .await
            .contains("is on call for platform"),
        "only the addressed message is answered"
    );

    // Two users interleaved in one room: bob's yes never confirms alice's request.
    assert_eq!(
        alice.ask(&room, "opsbot: restart redis on cache-01").await,
        "alice: I will restart redis on cache-01. Shall I go ahead? (yes/no)"
    );
    assert_eq!(
        bob.ask(&room, "opsbot: deploy billing 3.1 to qa").await,
        "bob: I will deploy billing 3.1 to qa. Shall I go ahead? (yes/no)"
    );
    bob.say(&room, "yes").await;
    let bobs = bob.replies(&room, 2).await;
    assert_eq!(
        bobs[0].body, "bob: Deploying billing 3.1 to qa …",
        "bob's yes ran bob's request"
    );
    assert_eq!(bobs[1].body, "bob: billing 3.1 is now deployed to qa.");
    alice.say(&room, "yes").await;
    let alices = alice.replies(&room, 2).await;
    assert_eq!(
        alices[0].body, "alice: Restarting redis on cache-01 …",
        "alice's request was still waiting for alice"
    );
    assert_eq!(
        alices[1].body,
        "alice: The redis service has been restarted on cache-01."
    );

    // A reminder in seconds, said in the room to whom asked for it; its
    // five seconds pass in the direct-message scenarios below.
    let acknowledged = alice
        .ask(&room, "opsbot: remind me in 5 seconds to check the backups")
        .await;
    assert!(
        acknowledged.starts_with("alice: I will remind you at "),
        "{acknowledged}"
    );

    // A direct-message room needs no mention.
    let dm = alice.room_with(&["opsbot"], true).await;
    assert_eq!(
        alice.ask(&dm, "restart apache on web-05").await,
        "I will restart apache on web-05. Shall I go ahead? (yes/no)"
    );
    assert_eq!(
        alice.ask(&dm, "no").await,
        "Okay, I cancelled that. Nothing was run."
    );

    // An end-to-end encrypted DM.
    let encrypted = alice
        .client
        .create_dm(&Person::user_id("opsbot"))
        .await
        .unwrap();
    alice.wait_members(&encrypted, 2).await;
    assert!(encrypted
        .latest_encryption_state()
        .await
        .unwrap()
        .is_encrypted());
    assert!(alice
        .ask(&encrypted, "hello")
        .await
        .starts_with("Hello @alice:localhost!"));

    let reminder = said_in(&alice, &room, WAIT, |m| m.body.contains("Reminder")).await;
    assert_eq!(reminder.body, "alice: Reminder: check the backups");
    assert_eq!(
        reminder.mentions,
        [Person::user_id("alice")],
        "the reminder mentions alice"
    );

    // The bot restarts mid-dialog; the dialog continues.
    assert_eq!(
        alice.ask(&dm, "restart apache").await,
        "On which host would you like to restart apache?"
    );
    bot.kill9();
    let bot = start_bot(fixture, config);
    assert_eq!(
        alice.ask(&dm, "web-07").await,
        "I will restart apache on web-07. Shall I go ahead? (yes/no)"
    );

    // The homeserver restarts mid-dialog; the bot retries and resumes.
    synapse.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    synapse.launch();
    alice.say(&dm, "yes").await;
    let resumed = alice.replies(&dm, 2).await;
    assert_eq!(
        resumed[1].body,
        "The apache service has been restarted on web-07."
    );

    // Redelivery: a new device of the bot syncs from scratch and sees old events
    // again; none is answered twice and no action runs twice.
    bot.kill9();
    let matrix_dir = fixture.state().join("matrix");
    std::fs::remove_file(matrix_dir.join("session.json")).unwrap();
    std::fs::remove_dir_all(matrix_dir.join("sdk")).unwrap();
    let restarts_before = std::fs::read_to_string(fixture.state().join("restarts.tsv"))
        .unwrap()
        .lines()
        .count();
    let bot = start_bot(fixture, config);
    assert!(
        alice
            .ask(&dm, "who is on call")
            .await
            .contains("is on call for platform"),
        "the new device answers new messages"
    );
    assert!(alice.no_reply_since(&dm), "no old message answered again");
    let restarts_after = std::fs::read_to_string(fixture.state().join("restarts.tsv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(restarts_before, restarts_after);

    // Twenty messages sent back to back, without waiting for answers, are
    // handled in the order sent: each request is answered, then cancelled.
    // (Replies read from before the first message: some arrive mid-burst.)
    let mark = alice.inbox.lock().unwrap().len();
    for i in 1..=10 {
        alice
            .say(&dm, &format!("restart apache on web-{}", 100 + i))
            .await;
        alice.say(&dm, "no").await;
    }
    alice.read = mark;
    let replies: Vec<String> = alice
        .replies(&dm, 20)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    let expected: Vec<String> = (1..=10)
        .flat_map(|i| {
            [
                format!(
                    "I will restart apache on web-{}. Shall I go ahead? (yes/no)",
                    100 + i
                ),
                "Okay, I cancelled that. Nothing was run.".to_string(),
            ]
        })
        .collect();
    assert_eq!(replies, expected, "handled out of order");

    // A long-running action's message is edited in place: still running,
    // then the result; no new message.
    assert_eq!(
        alice.ask(&dm, "restart apache on slow-01").await,
        "I will restart apache on slow-01. Shall I go ahead? (yes/no)"
    );
    alice.say(&dm, "yes").await;
    let first = alice.replies(&dm, 1).await.remove(0);
    assert_eq!(first.body, "Restarting apache on slow-01 …");
    assert_eq!(first.replaces, None);
    let started = Instant::now();
    let edits = loop {
        let edits: Vec<Message> = alice
            .inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.replaces.as_ref() == Some(&first.event))
            .cloned()
            .collect();
        if edits
            .last()
            .is_some_and(|m| m.body.starts_with("The apache service"))
        {
            break edits;
        }
        assert!(started.elapsed() < WAIT, "edits so far: {edits:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        edits[0]
            .body
            .starts_with("Restarting apache on slow-01 … (still running, "),
        "{edits:?}"
    );
    assert_eq!(
        edits.last().unwrap().body,
        "The apache service has been restarted on slow-01."
    );
    let unedited_after: Vec<Message> = alice.inbox.lock().unwrap()[alice.read..]
        .iter()
        .filter(|m| m.room == dm.room_id() && m.replaces.is_none())
        .cloned()
        .collect();
    assert!(
        unedited_after.is_empty(),
        "no new message: {unedited_after:?}"
    );
    alice.read = alice.inbox.lock().unwrap().len();

    // A runbook: one progress message, edited in place as its steps go,
    // ending with every step marked; the result is a message of its own.
    let confirmation = alice.ask(&dm, "blue-green deploy shop 1.5.0").await;
    assert!(
        confirmation.starts_with("I will deploy shop 1.5.0 blue/green. Shall I go ahead? (yes/no)\nSteps: 1 find shop's idle colour · 2 install 1.5.0 on"),
        "{confirmation}"
    );
    alice.say(&dm, "yes").await;
    let progress = alice.replies(&dm, 1).await.remove(0);
    assert_eq!(
        progress.body,
        "Blue/green deploy of shop 1.5.0: [1/6] ⏳ find shop's idle colour …"
    );
    let started = Instant::now();
    let (edits, new) = loop {
        let inbox = alice.inbox.lock().unwrap()[alice.read..].to_vec();
        let edits: Vec<String> = inbox
            .iter()
            .filter(|m| m.replaces.as_ref() == Some(&progress.event))
            .map(|m| m.body.clone())
            .collect();
        let new: Vec<String> = inbox
            .iter()
            .filter(|m| m.room == dm.room_id() && m.replaces.is_none())
            .map(|m| m.body.clone())
            .collect();
        if edits.last().is_some_and(|e| e.contains("[6/6] ✔")) && !new.is_empty() {
            break (edits, new);
        }
        assert!(started.elapsed() < WAIT, "edits {edits:?}, new {new:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        edits.last().unwrap(),
        "Blue/green deploy of shop 1.5.0: [1/6] ✔ find shop's idle colour · [2/6] ✔ install 1.5.0 on green · [3/6] ✔ check green's health · [4/6] ↷ ask before switching if green is slow · [5/6] ✔ switch traffic to green · [6/6] ✔ check green is healthy live"
    );
    assert_eq!(
        new.len(),
        1,
        "one new message besides the progress: {new:?}"
    );
    assert!(
        new[0].contains("shop 1.5.0 is live on green (all steps took"),
        "{new:?}"
    );
    alice.read = alice.inbox.lock().unwrap().len();

    // Killed while an action runs: on start the bot speaks first, in the room,
    // before the requester writes again.
    assert_eq!(
        alice.ask(&dm, "restart apache on slow-02").await,
        "I will restart apache on slow-02. Shall I go ahead? (yes/no)"
    );
    alice.say(&dm, "yes").await;
    assert_eq!(alice.reply(&dm).await, "Restarting apache on slow-02 …");
    bot.kill9();
    let bot = start_bot(fixture, config);
    let told = alice.reply(&dm).await;
    assert!(
        told.starts_with("I lost track of your request to restart a service on a host"),
        "{told}"
    );

    // An uninvited user's invite is rejected.
    let mallory = Person::login(&url, "mallory").await;
    let mut request = CreateRoom::new();
    request.invite = vec![Person::user_id("opsbot")];
    let uninvited = mallory.client.create_room(request).await.unwrap();
    let started = Instant::now();
    loop {
        let member = uninvited
            .get_member(&Person::user_id("opsbot"))
            .await
            .unwrap();
        if member
            .as_ref()
            .is_some_and(|m| *m.membership() == MembershipState::Leave)
        {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the bot did not reject mallory's invite: {:?}",
            member.map(|m| m.membership().clone())
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The change scheduled at the start has run once, and the room heard it.
    // The requester is named as this device knows them: by display name,
    // or by id when a new device has not yet learned the room's members.
    let ending = format!(" scheduled for {when}: I will deploy shop 1.2 to staging.");
    let starting =
        |body: &str| body.starts_with("alice: Starting what ") && body.ends_with(&ending);
    let until_due = (asked + chrono::Duration::seconds(70) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    said_in(&alice, &room, until_due + WAIT, |m| starting(&m.body)).await;
    said_in(&alice, &room, WAIT, |m| {
        m.body == "alice: shop 1.2 is now deployed to staging."
    })
    .await;
    let deploys = std::fs::read_to_string(fixture.state().join("deploys.tsv")).unwrap();
    let shop: Vec<&str> = deploys
        .lines()
        .filter(|l| l.ends_with("\tshop\t1.2\tstaging"))
        .collect();
    assert_eq!(shop.len(), 1, "deployed exactly once: {deploys}");
    let starts = alice
        .inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|m| starting(&m.body))
        .count();
    assert_eq!(starts, 1, "started once");
    drop(bot);

    let audit = crate::util::stdout(&fixture.run(&["audit", "verify"], ""));
    assert!(audit.starts_with("ok:"), "{audit}");
}

/// The time a "… is <time> (…)" confirmation names, after `lead`.
fn scheduled_time(confirmation: &str, lead: &str) -> String {
    let rest = confirmation
        .strip_prefix(lead)
        .unwrap_or_else(|| panic!("{confirmation}"));
    rest.split(" (").next().unwrap().to_string()
}

/// The first message `person` has seen in `room` (read or not) that `is`,
/// waiting up to `within` for it.
async fn said_in(
    person: &Person,
    room: &matrix_sdk::Room,
    within: Duration,
    is: impl Fn(&Message) -> bool,
) -> Message {
    let started = Instant::now();
    loop {
        let found = person
            .inbox
            .lock()
            .unwrap()
            .iter()
            .find(|m| m.room == room.room_id() && m.replaces.is_none() && is(m))
            .cloned();
        if let Some(message) = found {
            return message;
        }
        let seen: Vec<String> = person
            .inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.room == room.room_id())
            .map(|m| m.body.clone())
            .collect();
        assert!(
            started.elapsed() < within,
            "not said; the room saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
