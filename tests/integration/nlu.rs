//! The transformer NLU through the binary: `opsbot train` (summary, artifact,
//! data mistakes), `opsbot evaluate` (cross-validation and a test file, JSON and
//! the confusion-matrix image), `opsbot import`, and refreshing a running bot's
//! model without a restart.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::util::{stderr, stdout, Fixture};

#[test]
fn train_prints_a_summary_and_writes_a_versioned_model_with_metrics() {
    let fixture = Fixture::example();
    let out = fixture.run(&["train"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("trained on 229 examples of 10 intents and out of scope"),
        "{text}"
    );
    assert!(text.contains("all-MiniLM-L6-v2@"), "{text}");
    assert!(
        text.contains("readings of examples not trained on"),
        "{text}"
    );
    assert!(text.contains("out-of-scope threshold"), "{text}");

    let meta = opsbot_nlu::IntentModel::load_meta(&fixture.path().join("models/intent-model.bin"))
        .unwrap();
    assert_eq!(meta.examples, 229);
    assert!(meta
        .encoder
        .as_deref()
        .unwrap()
        .starts_with("all-MiniLM-L6-v2@"));
    assert!(meta.metrics.validation_examples > 0);
    assert!((0.0..1.0).contains(&meta.calibration.threshold));
    // Training embedded every example once; the cache now holds them.
    assert!(fixture.path().join("models/embedding-cache.bin").exists());
}

#[test]
fn train_refuses_bad_data_with_file_and_line_and_keeps_the_old_model() {
    let fixture = Fixture::trained();
    let model = fixture.path().join("models/intent-model.bin");
    let before = std::fs::read(&model).unwrap();
    fixture.write(
        "intents/broken.yaml",
        "intents:\n  restart_again:\n    examples:\n      - restart [apache](servic)\n",
    );
    let out = fixture.run(&["train"], "");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("intents/broken.yaml:4"), "{err}");
    assert!(err.contains("servic"), "{err}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        before,
        "the old model is untouched"
    );
}

#[test]
fn evaluate_cross_validates_and_writes_json_and_a_confusion_matrix() {
    let fixture = Fixture::example();
    let json = fixture.path().join("evaluation.json");
    let svg = fixture.path().join("confusion.svg");
    let out = fixture.run(
        &[
            "evaluate",
            "--folds",
            "3",
            "--json",
            json.to_str().unwrap(),
            "--confusion",
            svg.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("3-fold cross-validation on 229 examples"),
        "{text}"
    );
    assert!(text.contains("out of scope       precision"), "{text}");
    let evaluation: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let accuracy = evaluation["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.8, "the example bot is learnable: {accuracy}");
    assert_eq!(
        evaluation["confusion"]["classes"].as_array().unwrap().len(),
        11
    );
    let total: u64 = evaluation["confusion"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|c| c.as_u64().unwrap()))
        .sum();
    assert_eq!(total, 229, "every example lands in one cell");
    let image = std::fs::read_to_string(&svg).unwrap();
    assert!(image.starts_with("<svg") && image.contains("restart_service"));
    // Slots, per entity, exact span.
    assert!(text.contains("slots (exact span and entity)"), "{text}");
    let host_f1 = evaluation["slots"]["entities"]["host"]["f1"]
        .as_f64()
        .unwrap();
    assert!(host_f1 > 0.8, "hosts are found: {host_f1}");
    assert!(evaluation["slots"]["entities"]["period"].is_null());
    assert!(evaluation["slots"]["f1"].as_f64().unwrap() > 0.8);
}

#[test]
fn evaluate_scores_a_test_file_and_import_converts_rasa_data() {
    let fixture = Fixture::trained();
    fixture.write(
        "heldout.tsv",
        "please restart nginx on web-31\trestart_service\nship billing 3.1.4 to staging\tdeploy_app\nwho is on call for payments\twho_is_on_call\nwhat is the capital of peru\tout_of_scope\n",
    );
    let heldout = fixture.path().join("heldout.tsv");
    let out = fixture.run(&["evaluate", "--test", heldout.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("4 examples from"), "{text}");
    assert!(text.contains("accuracy"), "{text}");

    fixture.write(
        "rasa.yml",
        "version: \"3.1\"\nnlu:\n- intent: check_disk\n  examples: |\n    - how full is the disk on [web-01](host)\n    - disk usage please\n",
    );
    let rasa = fixture.path().join("rasa.yml");
    let target = fixture.path().join("imported.yaml");
    let out = fixture.run(
        &[
            "import",
            rasa.to_str().unwrap(),
            "--out",
            target.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(&target).unwrap();
    assert!(yaml.contains("check_disk:"), "{yaml}");
    assert!(
        yaml.contains("\"how full is the disk on web-01\""),
        "{yaml}"
    );

    fixture.write("bad.tsv", "fine\tgreet\nno tab on this line\n");
    let bad = fixture.path().join("bad.tsv");
    let out = fixture.run(&["evaluate", "--test", bad.to_str().unwrap()], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bad.tsv:2: expected `text<TAB>intent`"),
        "{}",
        stderr(&out)
    );
}

/// A running shell picks up a retrained model: on an admin's request, and by
/// itself when the model file changes; a broken model file leaves the running one.
#[test]
fn a_running_bot_refreshes_its_model_without_a_restart() {
    let fixture = Fixture::trained();
    let mut child = fixture
        .command(&["shell", "--user", "alice"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    let out_tx = lines_tx.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(format!("out: {line}"));
        }
    });
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(format!("log: {line}"));
        }
    });
    let wait_for = |needle: &str| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut seen = String::new();
        while std::time::Instant::now() < deadline {
            if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!("never saw {needle:?}; saw:\n{seen}");
    };

    writeln!(stdin, "reload the model").unwrap();
    wait_for("Reloaded the intent model: trained");

    // Retrain with one more example; the watcher loads it by itself.
    let intents = fixture.path().join("intents/operations.yaml");
    let yaml = std::fs::read_to_string(&intents).unwrap();
    std::fs::write(
        &intents,
        yaml.replace(
            "      - restart a service\n",
            "      - restart a service\n      - cycle the [nginx](service) daemon on [web-09](host)\n",
        ),
    )
    .unwrap();
    let out = fixture.run(&["train"], "");
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    wait_for("loaded the new model");
    writeln!(stdin, "restart apache on web-01").unwrap();
    wait_for("I will restart apache on web-01");
    writeln!(stdin, "no").unwrap();

    // A broken model is refused; the bot keeps answering with the current one.
    std::fs::write(
        fixture.path().join("models/intent-model.bin"),
        b"not a model",
    )
    .unwrap();
    wait_for("could not load the new model");
    writeln!(stdin, "reload the model").unwrap();
    wait_for("I could not reload the model, so I am still using the current one");
    writeln!(stdin, "restart apache on web-01").unwrap();
    wait_for("I will restart apache on web-01");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn fine_tuning_trains_the_encoder_and_the_bot_uses_it() {
    let fixture = Fixture::example();
    let out = fixture.run(&["train", "--fine-tune", "--fine-tune-epochs", "1"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("fine-tuned the encoder: 8 steps"), "{text}");
    let meta = opsbot_nlu::IntentModel::load_meta(&fixture.path().join("models/intent-model.bin"))
        .unwrap();
    assert_eq!(meta.encoder_dir.as_deref(), Some("encoder-fine-tuned"));
    assert!(fixture
        .path()
        .join("models/encoder-fine-tuned/model.safetensors")
        .exists());
    let reply = fixture.shell("alice", &["restart apache on web-01"]);
    assert!(reply.contains("I will restart apache on web-01"), "{reply}");
}
