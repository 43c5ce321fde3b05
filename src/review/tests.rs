//! Reviewed messages written into the project's YAML (on both test packs and
//! the example bot), and the review session driven as a state machine.

use std::path::{Path, PathBuf};

use chrono::TimeZone;
use opsbot_dialog::LessonKind;
use opsbot_runtime::inbox::FoundValue;
use opsbot_spec::OUT_OF_SCOPE;

use super::append::{write_examples, Accepted};
use super::session::{Answer, Session, Work};
use super::*;

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "models" && entry.file_name() != "state" {
                copy(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of a bot's intents, dialogs and settings (`name`: a test pack, or
/// "" for the example bot) that the test may write to.
fn project_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let from = if name.is_empty() {
        root.to_path_buf()
    } else {
        root.join("tests/packs").join(name)
    };
    let dir = tempfile::tempdir().unwrap();
    for part in ["intents", "dialogs", "actions", "data"] {
        if from.join(part).exists() {
            copy(&from.join(part), &dir.path().join(part));
        }
    }
    std::fs::copy(from.join("opsbot.yaml"), dir.path().join("opsbot.yaml")).unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

fn entry(id: &str, text: &str, entities: Vec<FoundValue>) -> InboxEntry {
    InboxEntry {
        id: id.into(),
        kind: LessonKind::NotUnderstood,
        text: text.into(),
        predicted: None,
        alternatives: Vec::new(),
        entities,
        chosen: None,
        suggested: None,
        room: "!ops:example".into(),
        at: Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
        model: "m".into(),
        decision: None,
    }
}

fn value(text: &str, surface: &str, entity: &str, canonical: &str) -> FoundValue {
    let start = text.find(surface).unwrap();
    FoundValue {
        entity: entity.into(),
        start,
        end: start + surface.len(),
        value: canonical.into(),
    }
}

/// (bot, intent, message, surface, entity, canonical)
const CASES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "dbops",
        "backup_database",
        "snapshot orders right now",
        "orders",
        "database",
        "orders",
    ),
    (
        "cicd",
        "rerun_pipeline",
        "kick off frontend once more",
        "frontend",
        "pipeline",
        "frontend",
    ),
    (
        "",
        "restart_service",
        "give httpd a kick",
        "httpd",
        "service",
        "apache",
    ),
];

#[test]
fn accepted_messages_become_examples_that_check_on_three_bots() {
    for &(name, intent, text, surface, entity, canonical) in CASES {
        let (_dir, root) = project_copy(name);
        let project = opsbot_spec::load_project(&root).unwrap();
        let before = project.intents[intent].examples.len();
        let e = entry(
            "a1b2c3d4",
            text,
            vec![value(text, surface, entity, canonical)],
        );
        let accepted = Accepted::from_entry(&project, &e, intent);
        let annotated = if surface == canonical {
            format!("[{surface}]({entity})")
        } else {
            format!("[{surface}]({entity}:{canonical})")
        };
        assert_eq!(
            accepted.example,
            text.replace(surface, &annotated),
            "{name}"
        );
        let out_of_scope = Accepted::from_entry(&project, &e, OUT_OF_SCOPE);
        assert_eq!(
            out_of_scope.example, text,
            "{name}: out of scope is plain text"
        );

        let places = write_examples(&root, &[accepted.clone(), out_of_scope]).unwrap();
        let project = opsbot_spec::load_project(&root).expect("the project still checks");
        let examples = &project.intents[intent].examples;
        assert_eq!(examples.len(), before + 1, "{name}");
        let added = examples
            .iter()
            .find(|x| x.text == text)
            .expect("the example is there");
        assert_eq!(added.spans.len(), 1, "{name}: its value is annotated");
        assert!(
            project.out_of_scope.iter().any(|x| x.text == text),
            "{name}"
        );
        // The comment says when and from where, right above the example.
        let (file, line) = places[0].rsplit_once(':').unwrap();
        let written = std::fs::read_to_string(root.join(file)).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        let line: usize = line.parse().unwrap();
        let quoted = serde_json::to_string(&accepted.example).unwrap();
        assert!(
            lines[line - 1].ends_with(&format!("- {quoted}")),
            "{name}: {places:?}\n{written}"
        );
        assert!(
            lines[line - 2]
                .trim_start()
                .starts_with("# reviewed 2026-12-02, room !ops:example, not understood"),
            "{name}: {}",
            lines[line - 2]
        );
        // Twice is once.
        assert_eq!(
            write_examples(&root, &[accepted]).unwrap(),
            ["already there"]
        );
    }
}

/// Issue 31: a message's own markup (`[--force](service)`), or a listed value
/// found inside it, never becomes an annotation that grows a closed list; a
/// hand-written example that would grow one is refused and the file restored.
#[test]
fn review_accept_never_extends_a_closed_list_on_three_bots() {
    for &(name, intent, message, _, entity, canonical) in CASES {
        let (_dir, root) = project_copy(name);
        let project = opsbot_spec::load_project(&root).unwrap();
        let listed = |p: &opsbot_spec::Project| -> Vec<String> {
            p.entities[entity]
                .canonical_values()
                .map(str::to_string)
                .collect()
        };
        let before = listed(&project);
        let text = format!("{message} [--force]({entity}) [all]({entity}:[{canonical}]({entity}))");
        let found = text.rfind(canonical).unwrap();
        let e = entry(
            "c0ffee01",
            &text,
            vec![FoundValue {
                entity: entity.into(),
                start: found,
                end: found + canonical.len(),
                value: canonical.into(),
            }],
        );
        let accepted = Accepted::from_entry(&project, &e, intent);
        write_examples(&root, std::slice::from_ref(&accepted))
            .unwrap_or_else(|err| panic!("{name}: {}: {err:#}", accepted.example));
        let after = opsbot_spec::load_project(&root).expect("the project still checks");
        assert!(
            after.intents[intent]
                .examples
                .iter()
                .any(|x| x.text == text),
            "{name}: the message reads back as written: {}",
            accepted.example
        );
        assert_eq!(listed(&after), before, "{name}: {}", accepted.example);
        assert!(after.entities[entity]
            .validate("--force", Utc::now())
            .is_err());

        let file_of =
            |p: &opsbot_spec::Project| root.join(&p.intents[intent].examples[0].location.file);
        let file = file_of(&after);
        let original = std::fs::read_to_string(&file).unwrap();
        let by_hand = Accepted {
            example: format!("{message} [tempdb]({entity})"),
            ..accepted
        };
        let error = write_examples(&root, &[by_hand]).unwrap_err().to_string();
        assert!(
            error.contains("closed list") && error.contains("tempdb"),
            "{name}: {error}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original, "{name}");
    }
}

#[test]
fn an_example_that_would_break_the_project_is_refused_and_the_file_restored() {
    let (_dir, root) = project_copy("dbops");
    let file = root.join("intents/db.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let bad = Accepted {
        label: "backup_database".into(),
        example: "back up [orders](no_such_entity)".into(),
        origin: "test".into(),
    };
    let error = write_examples(&root, &[bad]).unwrap_err().to_string();
    assert!(error.contains("would break the project"), "{error}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    let unknown = Accepted {
        label: "no_such_intent".into(),
        example: "x".into(),
        origin: "test".into(),
    };
    let error = write_examples(&root, &[unknown]).unwrap_err().to_string();
    assert!(error.contains("is not an intent of this bot"), "{error}");
}

#[test]
fn a_session_walks_the_groups_and_says_what_to_do() {
    let (_dir, root) = project_copy("cicd");
    let project = opsbot_spec::load_project(&root).unwrap();
    let mut first = entry("aaaa0001", "kick frontend again", Vec::new());
    first.chosen = Some("rerun_pipeline".into());
    let second = entry("aaaa0002", "kick frontend again pls", Vec::new());
    let third = entry("bbbb0001", "order pizza", Vec::new());
    let entries = vec![first, second, third];
    let grouped = groups(&entries, None).unwrap();
    assert_eq!(grouped, vec![vec![0, 1], vec![2]]);
    let mut session = Session::new(entries, grouped);
    assert_eq!(session.progress(), (1, 2));
    assert_eq!(session.suggestion().as_deref(), Some("rerun_pipeline"));
    assert_eq!(session.current().unwrap().len(), 2);
    let work = session.answer(
        &project,
        Answer::Label {
            label: "rerun_pipeline".into(),
            examples: None,
        },
    );
    let Work::Write { ids, accepted } = &work else {
        panic!("{work:?}");
    };
    assert_eq!(ids, &["aaaa0001", "aaaa0002"]);
    assert_eq!(accepted.len(), 2);
    let inbox = Inbox::new(root.join("state/review"));
    inbox.record(session_entries()).unwrap();
    let done = perform(&root, &inbox, work).unwrap();
    assert_eq!(done.len(), 2, "{done:?}");
    let decided: Vec<String> = inbox
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.decision.is_some())
        .map(|e| e.id)
        .collect();
    assert_eq!(decided, ["aaaa0001", "aaaa0002"]);
    assert_eq!(
        session.answer(&project, Answer::Delete),
        Work::Remove {
            ids: vec!["bbbb0001".into()]
        }
    );
    assert!(session.current().is_none());
    assert_eq!((session.tally.labelled, session.tally.deleted), (2, 1));
    assert_eq!(session.answer(&project, Answer::Skip), Work::Nothing);

    fn session_entries() -> Vec<InboxEntry> {
        vec![
            entry("aaaa0001", "kick frontend again", Vec::new()),
            entry("aaaa0002", "kick frontend again pls", Vec::new()),
        ]
    }
}

#[test]
fn an_entry_is_named_by_a_unique_prefix() {
    let entries = vec![
        entry("abcd1234", "x", Vec::new()),
        entry("abcd5678", "y", Vec::new()),
    ];
    assert_eq!(find(&entries, "abcd5").unwrap().text, "y");
    assert!(find(&entries, "abcd")
        .unwrap_err()
        .to_string()
        .contains("2 entries"));
    assert!(find(&entries, "ab")
        .unwrap_err()
        .to_string()
        .contains("at least 4"));
    assert!(find(&entries, "ffff")
        .unwrap_err()
        .to_string()
        .contains("no entry"));
}

#[test]
fn the_encoder_groups_rephrasings_and_keeps_different_requests_apart() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let encoder = opsbot_encoder::MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR))
        .expect("the encoder (make models)");
    let texts = [
        "restart apache please",
        "please restart apache",
        "back up the orders database",
        "restore the orders database",
        "squirrel everything away overnight",
        "please squirrel everything away overnight",
        "rerun the frontend pipeline",
        "promote the frontend build",
    ];
    let entries: Vec<InboxEntry> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| entry(&format!("id{i:04}"), t, Vec::new()))
        .collect();
    let vectors = encoder.encode(&texts).unwrap();
    // Back up and restore of one database come close (0.83 here): the
    // line sits above them, so only rewordings share a group.
    assert!(group::cosine(&vectors[2], &vectors[3]) < group::SIMILAR);
    let grouped = groups(&entries, Some(&encoder)).unwrap();
    assert_eq!(
        grouped,
        vec![vec![0, 1], vec![2], vec![3], vec![4, 5], vec![6], vec![7]]
    );
}

/// Messages made from one annotated example of each bot with three or four
/// of its entity's listed values are one group (a sentence encoder kept them
/// apart: they share a template, not a meaning); another intent's example
/// is not in it.
#[test]
fn messages_from_one_template_with_other_values_are_one_group_on_three_bots() {
    for name in ["", "dbops", "cicd"] {
        let (_dir, root) = project_copy(name);
        let project = opsbot_spec::load_project(&root).unwrap();
        let extractor = opsbot_nlu::EntityExtractor::new(&project);
        let listed = |entity: &str| {
            project
                .entities
                .get(entity)
                .map_or(0, |e| e.canonical_values().count())
        };
        let (intent, example, span) = project
            .intents
            .values()
            .flat_map(|i| i.examples.iter().map(move |e| (i, e)))
            .find_map(|(i, e)| {
                e.spans
                    .iter()
                    .find(|s| listed(&s.entity) >= 3)
                    .map(|s| (i, e, s.clone()))
            })
            .unwrap_or_else(|| {
                panic!("{name}: no example with a value of an entity that lists three")
            });
        let found = |text: &str| -> Vec<FoundValue> {
            extractor
                .extract(text)
                .into_iter()
                .map(|m| FoundValue {
                    entity: m.entity,
                    start: m.start,
                    end: m.end,
                    value: m.value,
                })
                .collect()
        };
        let texts: Vec<String> = project.entities[&span.entity]
            .canonical_values()
            .take(4)
            .map(|v| {
                format!(
                    "{}{v}{}",
                    &example.text[..span.start],
                    &example.text[span.end..]
                )
            })
            .collect();
        let mut entries: Vec<InboxEntry> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| entry(&format!("t{i:07}"), t, found(t)))
            .collect();
        let other = &project
            .intents
            .values()
            .find(|i| i.name != intent.name)
            .unwrap()
            .examples[0]
            .text;
        entries.push(entry("o0000001", other, found(other)));
        let grouped = groups(&entries, None).unwrap();
        let made: Vec<usize> = (0..texts.len()).collect();
        assert_eq!(grouped[0], made, "{name}: {texts:?} {grouped:?}");
        assert!(grouped.contains(&vec![texts.len()]), "{name}: {grouped:?}");
    }
}

#[test]
fn a_message_not_understood_is_offered_its_likeliest_reading() {
    let guess = |name: &str, confidence: f32| opsbot_nlu::IntentGuess {
        name: name.into(),
        confidence,
    };
    let mut first = entry("cccc0001", "kick the frontend thing", Vec::new());
    first.alternatives = vec![
        guess("rerun_pipeline", 0.31),
        guess(OUT_OF_SCOPE, 0.30),
        guess("cancel_pipeline", 0.2),
    ];
    let mut second = entry("cccc0002", "kick the backend thing", Vec::new());
    second.alternatives = vec![guess(OUT_OF_SCOPE, 0.5), guess("cancel_pipeline", 0.3)];
    assert_eq!(first.suggestion(), Some("rerun_pipeline"));
    assert_eq!(second.suggestion(), Some(OUT_OF_SCOPE));
    let session = Session::new(vec![first, second], vec![vec![0, 1]]);
    // The picker starts on the intent the group leaned to most.
    assert_eq!(
        session.likeliest_intents(),
        ["cancel_pipeline", "rerun_pipeline"]
    );
}
