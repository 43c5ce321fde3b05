//! Who may approve what, over every combination of the speaker's own pending
//! step, the requests of others waiting for approval in the room, and the
//! phrase the speaker says — on the example bot and two test packs of other
//! domains. A yes word only ever answers the speaker's own question; another
//! person's request is decided only by "approve"/"deny", named when more than
//! one thing could be meant; a question is never a yes; and nobody approves
//! their own request under another id.

use opsbot_dialog::Phase;
use opsbot_runtime::{AuditOutcome, ConversationKey, Runtime};

use crate::util::Fixture;

/// One bot and the requests that exercise it.
struct Pack {
    fixture: Fixture,
    /// Speaks the phrase; a member of the approver group.
    speaker: &'static str,
    /// Two other approvers who file requests that need approval.
    others: [&'static str; 2],
    /// A request that needs approval (after the requester's yes).
    needs_approval: &'static str,
    /// A request that asks the speaker for a value.
    collecting: &'static str,
    /// A request that asks the speaker for a yes.
    confirming: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Own {
    Nothing,
    Collecting,
    Confirming,
    AwaitingApproval,
}

const OWN: [Own; 4] = [
    Own::Nothing,
    Own::Collecting,
    Own::Confirming,
    Own::AwaitingApproval,
];

/// Said by the attack run: each once confirmed an action.
const QUESTIONS: &[&str] = &[
    "ok?", "right?", "sure?", "go?", "correct?", "yes?", "please", "k",
];

fn say(
    runtime: &tokio::runtime::Runtime,
    bot: &Runtime,
    key: &ConversationKey,
    text: &str,
) -> Vec<String> {
    let mut replies = Vec::new();
    runtime
        .block_on(bot.handle(key, text, &mut |r: String| replies.push(r)))
        .unwrap();
    replies
}

fn waiting_id(bot: &Runtime, key: &ConversationKey) -> Option<String> {
    match bot.store().load(key).unwrap().phase {
        Phase::AwaitingApproval { request } => Some(request.id),
        _ => None,
    }
}

fn outcome_of(bot: &Runtime, request_id: &str) -> Option<AuditOutcome> {
    bot.store()
        .audit_newest_first()
        .map(Result::unwrap)
        .find(|r| r.request_id == request_id)
        .map(|r| r.outcome)
}

/// What the phrase must do to the first other request.
#[derive(Debug, PartialEq)]
enum Decision {
    Approved,
    Denied,
    Untouched,
}

fn run_matrix(pack: &Pack, yes_words: &[&str]) {
    let bot = pack.fixture.bot();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut case = 0;
    let mut phrases: Vec<String> = yes_words.iter().map(|s| s.to_string()).collect();
    phrases.extend(QUESTIONS.iter().map(|s| s.to_string()));
    for template in [
        "approve",
        "approve {c}",
        "approve {wrong}",
        "deny",
        "deny {c}",
        "lgtm {c}",
        "approved {c}",
    ] {
        phrases.push(template.to_string());
    }
    for own in OWN {
        for waiting in 0..=2usize {
            for template in &phrases {
                case += 1;
                let room = format!("room-{case}");
                let speaker = ConversationKey::new(&room, pack.speaker);
                let others: Vec<ConversationKey> = pack
                    .others
                    .iter()
                    .map(|u| ConversationKey::new(&room, *u))
                    .collect();
                let mut ids = Vec::new();
                for other in others.iter().take(waiting) {
                    say(&runtime, &bot, other, pack.needs_approval);
                    say(&runtime, &bot, other, "yes");
                    ids.push(waiting_id(&bot, other).expect("waits for approval"));
                }
                match own {
                    Own::Nothing => {}
                    Own::Collecting => {
                        say(&runtime, &bot, &speaker, pack.collecting);
                    }
                    Own::Confirming => {
                        say(&runtime, &bot, &speaker, pack.confirming);
                    }
                    Own::AwaitingApproval => {
                        say(&runtime, &bot, &speaker, pack.needs_approval);
                        say(&runtime, &bot, &speaker, "yes");
                    }
                }
                let own_before = bot.store().load(&speaker).unwrap().phase;
                let code = ids.first().map(|id| id[..6].to_string());
                let phrase = template
                    .replace("{c}", code.as_deref().unwrap_or("abcdef"))
                    .replace("{wrong}", "0000ff");
                let replies = say(&runtime, &bot, &speaker, &phrase);

                let named = code.is_some() && phrase.ends_with(code.as_deref().unwrap());
                let bare_is_clear = own == Own::Nothing && waiting == 1;
                let expected = match phrase.split(' ').next().unwrap() {
                    "approve" if named || (phrase == "approve" && bare_is_clear) => {
                        Decision::Approved
                    }
                    "deny" if named || (phrase == "deny" && bare_is_clear) => Decision::Denied,
                    _ => Decision::Untouched,
                };
                let context = format!(
                    "{}: own {own:?}, {waiting} waiting, {phrase:?} → {replies:?}",
                    pack.speaker
                );
                if let Some(first) = ids.first() {
                    let actual = match (waiting_id(&bot, &others[0]), outcome_of(&bot, first)) {
                        (Some(_), _) => Decision::Untouched,
                        (None, Some(AuditOutcome::Succeeded)) => Decision::Approved,
                        (None, Some(AuditOutcome::Rejected)) => Decision::Denied,
                        (None, other) => panic!("{context}: unexpected outcome {other:?}"),
                    };
                    assert_eq!(actual, expected, "{context}");
                }
                if let Some(second) = ids.get(1) {
                    assert!(
                        waiting_id(&bot, &others[1]).as_ref() == Some(second),
                        "{context}: the second request was decided"
                    );
                }
                // The speaker's own step: a yes word answers it, nothing else does.
                let own_after = bot.store().load(&speaker).unwrap().phase;
                let is_yes = yes_words.contains(&phrase.as_str());
                match own {
                    Own::Confirming if is_yes => {
                        assert!(
                            matches!(own_after, Phase::Idle),
                            "{context}: own yes not taken"
                        )
                    }
                    Own::Confirming => assert!(
                        matches!(own_after, Phase::AwaitingConfirmation { .. }),
                        "{context}: own confirmation changed"
                    ),
                    Own::AwaitingApproval => assert_eq!(
                        own_after, own_before,
                        "{context}: own request approved by its requester"
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// The example bot with a third release manager and no rate limit in the way.
fn example() -> Pack {
    let fixture = Fixture::example();
    let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
    let settings = settings
        .replace(
            "  dave: [\"@dave:localhost\"]",
            "  dave: [\"@dave:localhost\"]\n  erin: [\"@erin:localhost\"]",
        )
        .replace(
            "release-managers: [alice, dave]",
            "release-managers: [alice, dave, erin]",
        )
        .replace("executions: 20", "executions: 100000");
    fixture.write("opsbot.yaml", &settings);
    let out = fixture.run(&["train"], "");
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    Pack {
        fixture,
        speaker: "alice",
        others: ["dave", "erin"],
        needs_approval: "deploy shop 3.0.0 to production",
        collecting: "restart apache",
        confirming: "restart apache on web-05",
    }
}

#[test]
fn approvals_on_the_example_bot_over_every_combination() {
    let pack = example();
    run_matrix(&pack, opsbot_dialog::phrases::yes_words());
}

/// A sample of yes words for the other packs (the example bot takes them all).
const SOME_YES: &[&str] = &["yes", "lgtm", "approved", "ok", "go ahead", "ship it", "👍"];

/// A test pack, trained, with no rate limit in the way of hundreds of runs.
fn unlimited_pack(name: &str) -> Fixture {
    let fixture = Fixture::pack(name);
    fixture.append_settings("rate_limit: { executions: 100000, per: 1m }\n");
    let out = fixture.run(&["train"], "");
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    fixture
}

#[test]
fn approvals_on_a_database_bot() {
    let pack = Pack {
        fixture: unlimited_pack("dbops"),
        speaker: "priya",
        others: ["omar", "lena"],
        needs_approval: "fail over pg-main",
        collecting: "back up a database",
        confirming: "back up the orders database",
    };
    run_matrix(&pack, SOME_YES);
}

#[test]
fn approvals_on_a_ci_bot() {
    let pack = Pack {
        fixture: unlimited_pack("cicd"),
        speaker: "kim",
        others: ["raj", "sam"],
        needs_approval: "promote frontend to prod",
        collecting: "rerun a pipeline",
        confirming: "rerun the backend pipeline",
    };
    run_matrix(&pack, SOME_YES);
}

/// The same person under another id cannot approve: `people:` maps ids to one
/// person, and the two-person rule compares people.
#[test]
fn nobody_approves_their_own_request_under_another_id() {
    for (fixture, requester, alias, other, request) in [
        (
            example().fixture,
            "alice",
            "@alice:localhost",
            "@dave:localhost",
            "deploy shop 3.0.0 to production",
        ),
        (
            Fixture::trained_pack("cicd"),
            "@kim:ci.example",
            "kim.lee",
            "raj",
            "promote frontend to prod",
        ),
    ] {
        let bot = fixture.bot();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let key = ConversationKey::new("ops", requester);
        say(&runtime, &bot, &key, request);
        say(&runtime, &bot, &key, "yes");
        let id = waiting_id(&bot, &key).expect("waits for approval");
        let replies = say(
            &runtime,
            &bot,
            &ConversationKey::new("ops", alias),
            &format!("approve {}", &id[..4]),
        );
        assert!(
            replies[0].starts_with("You cannot approve your own request"),
            "{alias}: {replies:?}"
        );
        assert_eq!(waiting_id(&bot, &key), Some(id.clone()));
        let replies = say(
            &runtime,
            &bot,
            &ConversationKey::new("ops", other),
            &format!("approve {}", &id[..4]),
        );
        assert!(
            replies[0].starts_with("Approved by"),
            "{other}: {replies:?}"
        );
        let record = bot
            .store()
            .audit_newest_first()
            .map(Result::unwrap)
            .find(|r| r.request_id == id)
            .unwrap();
        assert_eq!(record.approved_by.as_deref(), Some(other));
    }
}
