//! How requests read and end, on both test packs: line breaks inside a message
//! are spaces, read-only queries never use up the per-person rate limit, and a
//! request's outcome is handed to the sink as a conclusion naming the requester
//! (so an adapter can get their attention), and a value is never part of a
//! token.

use super::*;
use crate::ReplyId;

/// (pack, a member of its operator group, a read-only query, what its result names)
const QUERIES: &[(&str, &str, &str, &str)] = &[
    (
        "dbops",
        "priya",
        "what is the replication lag on pg-main",
        "pg-main",
    ),
    ("cicd", "kim", "what is the status of frontend", "frontend"),
];

#[test]
fn a_line_break_inside_a_request_is_a_space_on_two_packs() {
    for &(name, user, request, value, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        // The value stands right after the break: "…the\r\norders database".
        let words: Vec<&str> = request.split(' ').collect();
        let at = words.iter().position(|w| *w == value).unwrap();
        let broken = format!("{}\r\n{}", words[..at].join(" "), words[at..].join("\n"));
        runtime().block_on(async {
            let asked = say(&bot, "room", user, &broken).await;
            assert_eq!(asked.len(), 1, "{name}: {asked:?}");
            assert!(
                asked[0].contains(value) && asked[0].ends_with("(yes/no)"),
                "{name}: {broken:?} was understood whole: {asked:?}"
            );
            assert!(say(&bot, "room", user, "yes\r\n")
                .await
                .last()
                .unwrap()
                .contains(value));
        });
        assert_eq!(runs(state.path()).len(), 1, "{name}");
    }
}

#[test]
fn read_only_queries_do_not_use_up_the_rate_limit_on_two_packs() {
    for (&(name, user, query, named), &(_, _, request, value, _)) in QUERIES.iter().zip(REQUESTS) {
        let state = tempfile::tempdir().unwrap();
        let bot = bot_changed(name, state.path(), MemoryStore::new(), |project| {
            project.settings.rate_limit.executions = 2;
        });
        runtime().block_on(async {
            for i in 0..6 {
                let answer = say(&bot, "room", user, query).await;
                assert!(
                    answer.last().is_some_and(|a| a.contains(named)),
                    "{name}: query {i} answered: {answer:?}"
                );
            }
            // Two actions that change something are still allowed; a third is not.
            for _ in 0..2 {
                say(&bot, "room", user, request).await;
                let done = say(&bot, "room", user, "yes").await;
                assert!(done.last().unwrap().contains(value), "{name}: {done:?}");
            }
            say(&bot, "room", user, request).await;
            let refused = say(&bot, "room", user, "yes").await;
            assert!(
                refused[0].starts_with("You have started 2 actions in the last "),
                "{name}: {refused:?}"
            );
            // Queries still answer while the limit holds.
            say(&bot, "room", user, "no").await;
            let answer = say(&bot, "room", user, query).await;
            assert!(answer.last().unwrap().contains(named), "{name}: {answer:?}");
        });
        assert_eq!(runs(state.path()).len(), 6 + 2 + 1, "{name}");
    }
}

/// What a sink was asked to do, in order.
#[derive(Debug, Clone, PartialEq)]
enum Said {
    Say(String),
    Edit(u64, String),
    Conclude(Option<u64>, String, String),
}

#[derive(Default)]
struct Recorder(Vec<Said>);

impl ReplySink for Recorder {
    fn say(&mut self, text: String) -> Option<ReplyId> {
        self.0.push(Said::Say(text));
        Some(ReplyId(self.0.len() as u64))
    }

    fn edits_in_place(&self) -> bool {
        true
    }

    fn edit(&mut self, id: ReplyId, text: String) {
        self.0.push(Said::Edit(id.0, text));
    }

    fn conclude(&mut self, id: Option<ReplyId>, text: String, requester: &str) {
        self.0
            .push(Said::Conclude(id.map(|i| i.0), text, requester.into()));
    }
}

#[test]
fn the_outcome_of_a_request_is_concluded_for_its_requester_on_two_packs() {
    for &(name, user, request, value, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        let key = ConversationKey::new("room", user);
        runtime().block_on(async {
            let mut asked = Recorder::default();
            bot.handle(&key, request, &mut asked).await.unwrap();
            assert!(
                matches!(asked.0.as_slice(), [Said::Say(_)]),
                "{name}: a question is a plain reply: {:?}",
                asked.0
            );
            let mut done = Recorder::default();
            bot.handle(&key, "yes", &mut done).await.unwrap();
            // "Running …" is said, then the result concludes the request.
            match done.0.as_slice() {
                [Said::Say(_), Said::Conclude(_, result, requester)] => {
                    assert!(result.contains(value), "{name}: {result}");
                    assert_eq!(requester, user, "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
        });
    }
}

#[test]
fn how_long_ago_is_said_in_words() {
    let ago = |seconds| time_ago(std::time::Duration::from_secs(seconds));
    assert_eq!(ago(0), "less than a minute ago");
    assert_eq!(ago(59), "less than a minute ago");
    assert_eq!(ago(60), "a minute ago");
    assert_eq!(ago(150), "2 minutes ago");
    assert_eq!(ago(3600), "an hour ago");
    assert_eq!(ago(7300), "2 hours ago");
    assert_eq!(ago(86_400), "a day ago");
    assert_eq!(ago(3 * 86_400 + 5), "3 days ago");
}

/// Issue 31: a value must be a whole token. A listed value inside a token
/// with something more (a zero-width space, `1,` before it, `&` after it)
/// is not taken: the token is named back as not understood, and nothing
/// is confirmed or run.
#[test]
fn part_of_a_token_is_named_back_never_confirmed_on_two_packs() {
    for &(name, user, request, value, _) in REQUESTS {
        for (token, shown) in [
            (format!("x\u{200B}{value}"), "invisible".to_string()),
            (format!("1,{value}"), format!("“1,{value}”")),
            (format!("{value}&touch"), format!("“{value}&touch”")),
        ] {
            let state = tempfile::tempdir().unwrap();
            let bot = bot(name, state.path());
            let message = request.replace(value, &token);
            runtime().block_on(async {
                let asked = say(&bot, "room", user, &message).await;
                let said = asked.join("\n");
                assert!(
                    said.contains(&shown) && !said.contains("(yes/no)"),
                    "{name}: {message:?}: {asked:?}"
                );
                say(&bot, "room", user, "yes").await;
            });
            assert!(runs(state.path()).is_empty(), "{name}: {message:?}");
        }
    }
}
