//! Reviewed messages as examples, on the example bot and both test packs:
//! loaded back, they teach no closed list a value; `opsbot check` refuses a
//! listed or annotated value starting with '-'.

use std::path::{Path, PathBuf};

use super::*;

/// The example bot ("") or a test pack, copied where a test may add files.
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let from = if name.is_empty() {
        repo
    } else {
        repo.join("tests/packs").join(name)
    };
    let dir = tempfile::tempdir().unwrap();
    for part in ["intents", "dialogs", "actions", "data"] {
        if from.join(part).is_dir() {
            copy(&from.join(part), &dir.path().join(part));
        }
    }
    std::fs::copy(from.join("opsbot.yaml"), dir.path().join("opsbot.yaml")).unwrap();
    let root = dir.path().to_path_buf();
    (dir, root)
}

/// The project with `yaml` added as one more intents file.
fn with_file(root: &Path, yaml: &str) -> Result<Project, SpecError> {
    std::fs::write(root.join("intents/zz-test.yaml"), yaml).unwrap();
    load_project(root)
}

/// An intent of the bot whose dialog has a slot with a closed list, that
/// entity and one of its values.
fn closed_slot(project: &Project) -> (String, String, String) {
    for dialog in project.dialogs.values() {
        for slot in &dialog.slots {
            let Some(entity) = project.entities.get(&slot.entity) else {
                continue;
            };
            if entity.is_closed() && project.intents.contains_key(&dialog.intent) {
                let value = entity.canonical_values().next().unwrap().to_string();
                return (dialog.intent.clone(), slot.entity.clone(), value);
            }
        }
    }
    panic!("no dialog with a closed-list slot");
}

fn span(text: &str, surface: &str, entity: &str, value: &str) -> EntitySpan {
    let start = text.find(surface).unwrap();
    EntitySpan {
        start,
        end: start + surface.len(),
        entity: entity.into(),
        value: value.into(),
    }
}

#[test]
fn reviewed_messages_never_extend_a_closed_list_on_three_bots() {
    for name in ["", "dbops", "cicd"] {
        let (_dir, root) = copy_of(name);
        let before = load_project(&root).unwrap();
        let (intent, entity, value) = closed_slot(&before);
        // Both forms of the attack: the user's own markup with an option,
        // and a listed value found inside the user's markup.
        let text = format!("do [--force]({entity}) to [everything]({entity}:{value}) now");
        let found = [
            span(&text, "--force", &entity, "--force"),
            span(&text, &value, &entity, &value),
            span(&text, "everything", &entity, "everything"),
        ];
        let example = before.example_from_message(&intent, &text, &found);
        let quoted = format!("'{}'", example.replace('\'', "''"));
        let after = with_file(&root, &format!("out_of_scope:\n  - {quoted}\n"))
            .unwrap_or_else(|e| panic!("{name}: {example}: {e}"));
        assert!(
            after.out_of_scope.iter().any(|e| e.text == text),
            "{name}: the message reads back as written: {example}"
        );
        assert_eq!(
            before.closed_list_growth(&after),
            Vec::<String>::new(),
            "{name}: {example}"
        );
        assert!(
            after.entities[&entity]
                .validate("--force", chrono::Utc::now())
                .is_err(),
            "{name}"
        );
    }
}

#[test]
fn listed_values_found_in_a_message_are_marked() {
    let (_dir, root) = copy_of("");
    let project = load_project(&root).unwrap();
    let text = "give httpd a kick on web-01 and apahce too";
    let example = project.example_from_message(
        "restart_service",
        text,
        &[
            span(text, "httpd", "service", "apache"),
            span(text, "web-01", "host", "web-01"),
            // A typo match would teach the list a new word: left plain.
            span(text, "apahce", "service", "apache"),
        ],
    );
    assert_eq!(
        example,
        "give [httpd](service:apache) a kick on [web-01](host) and apahce too"
    );
}

/// The guard `opsbot review` runs after writing: a hand-made example that
/// teaches a closed list (as an unescaped message did) is named.
#[test]
fn closed_list_growth_names_what_an_example_taught() {
    for name in ["", "dbops", "cicd"] {
        let (_dir, root) = copy_of(name);
        let before = load_project(&root).unwrap();
        let (_, entity, value) = closed_slot(&before);
        let after = with_file(
            &root,
            &format!(
                "out_of_scope:\n  - \"do [everything]({entity}:[{value}]({entity}) now\"\n  - \"do [it]({entity}:tempdb) now\"\n"
            ),
        );
        assert!(after.is_err(), "{name}: nested markup is refused");
        let after = with_file(
            &root,
            &format!("out_of_scope:\n  - \"do [it]({entity}:tempdb) now\"\n"),
        )
        .unwrap();
        let mut grown = before.closed_list_growth(&after);
        grown.sort();
        assert_eq!(
            grown,
            [
                format!("{entity}: “it” → tempdb"),
                format!("{entity}: “tempdb” → tempdb")
            ],
            "{name}"
        );
    }
}

#[test]
fn check_refuses_values_that_start_with_a_dash() {
    let (_dir, root) = copy_of("dbops");
    for (yaml, named) in [
        ("entities:\n  flag:\n    values:\n      --force: []\n", "--force"),
        ("entities:\n  flag:\n    values:\n      enabled: [-y]\n", "-y"),
        (
            "entities:\n  flag:\n    values:\n      enabled: []\nout_of_scope:\n  - \"say [-rf](flag)\"\n",
            "-rf",
        ),
        (
            "entities:\n  flag:\n    values:\n      enabled: []\nout_of_scope:\n  - \"say [it](flag:--all)\"\n",
            "--all",
        ),
    ] {
        let error = with_file(&root, yaml).expect_err(yaml).to_string();
        assert!(
            error.contains(&format!("`{named}`")) && error.contains("starts with '-'"),
            "{yaml}: {error}"
        );
    }
}
