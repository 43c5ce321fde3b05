//! The review inbox on both test packs: each kind of misread message lands in
//! it, redacted; an opted-out room records nothing.

use opsbot_dialog::LessonKind;

use super::*;
use crate::inbox::Inbox;

fn reviewing_bot(
    name: &str,
    state: &Path,
    change: impl FnOnce(&mut opsbot_spec::Project),
) -> (Bot, Inbox) {
    let inbox = Inbox::new(state.join("review"));
    let (project, nlu) = trained(&pack(name), |project| {
        project
            .settings
            .redact
            .push(regex::Regex::new(r"token=\S+").unwrap());
        project.settings.review.exclude_rooms = vec!["private".into()];
        change(project);
    });
    let bot = Bot::with(project, nlu, MemoryStore::new(), state.to_path_buf(), |b| {
        b.inbox(inbox.clone())
    });
    (bot, inbox)
}

#[test]
fn misread_messages_land_in_the_inbox_redacted_on_two_packs() {
    for &(name, user, request, value, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let (bot, inbox) = reviewing_bot(name, state.path(), |_| {});
        runtime().block_on(async {
            say(&bot, "room", user, "purple elephants dance token=abc123").await;
            // Cancelled on the very next message.
            say(&bot, "room", user, request).await;
            say(&bot, "room", user, "no").await;
            // Disowned, and then none of the offered intents.
            say(&bot, "room", user, &format!("{request} now")).await;
            let asked = say(&bot, "room", user, "that's not what I meant").await;
            assert!(
                asked.iter().any(|r| r.contains("Nothing was run")),
                "{name}: {asked:?}"
            );
            assert!(
                asked
                    .iter()
                    .any(|r| r.contains("\n1. ") && r.contains("none of these")),
                "{name}: the other intents are offered: {asked:?}"
            );
            say(&bot, "room", user, "none of these").await;
            // An opted-out room records nothing.
            say(&bot, "private", user, "purple elephants sing").await;
        });
        let entries = inbox.entries().unwrap();
        let kinds: Vec<LessonKind> = entries.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                LessonKind::NotUnderstood,
                LessonKind::Cancelled,
                LessonKind::Flagged
            ],
            "{name}: {entries:#?}"
        );
        assert_eq!(
            entries[0].text, "purple elephants dance [redacted]",
            "{name}"
        );
        assert!(entries[0].predicted.is_none());
        assert_eq!(entries[1].text, request);
        let taken = entries[1].predicted.as_ref().expect("the reading is kept");
        assert!(taken.confidence > 0.0, "{name}: {taken:?}");
        assert!(
            entries[1].entities.iter().any(|v| v.value == value),
            "{name}: values found are kept: {:?}",
            entries[1].entities
        );
        assert_eq!(entries[2].text, format!("{request} now"));
        assert!(entries
            .iter()
            .all(|e| e.room == "room" && !e.model.is_empty()));
        assert_eq!(
            entries[2].chosen.as_deref(),
            Some(opsbot_spec::OUT_OF_SCOPE),
            "{name}"
        );
        // Nothing ran.
        assert!(runs(state.path()).is_empty(), "{name}");
    }
}

#[test]
fn an_unsure_reading_is_recorded_and_review_can_be_turned_off_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let (bot, inbox) = reviewing_bot(name, state.path(), |project| {
            project.settings.review.below_confidence = 1.0;
        });
        runtime().block_on(say(&bot, "room", user, request));
        let entries = inbox.entries().unwrap();
        assert_eq!(entries.len(), 1, "{name}: {entries:?}");
        assert_eq!(entries[0].kind, LessonKind::LowConfidence);
        assert!(entries[0].suggestion().is_some());

        let state = tempfile::tempdir().unwrap();
        let (bot, inbox) = reviewing_bot(name, state.path(), |project| {
            project.settings.review.enabled = false;
        });
        runtime().block_on(say(&bot, "room", user, "purple elephants dance"));
        assert!(inbox.entries().unwrap().is_empty(), "{name}");
    }
}
