//! Honest confidence through the binary, on two bots of other domains: training
//! calibrates on out-of-fold readings and says so, reports how many sentences the
//! encoder had to embed (a retrain after one edit embeds one), chooses the
//! threshold by the target `opsbot.yaml` states, and `opsbot evaluate` reports
//! calibration error, a reliability table and the right answers it refused,
//! deciding at the threshold the live bot uses.

use crate::util::{stderr, stdout, Fixture};

/// (pack, one of its intents)
const PACKS: &[(&str, &str)] = &[("dbops", "backup_database"), ("cicd", "rerun_pipeline")];

fn meta(fixture: &Fixture) -> opsbot_nlu::ModelMeta {
    opsbot_nlu::IntentModel::load_meta(&fixture.path().join("models/intent-model.bin")).unwrap()
}

#[test]
fn training_calibrates_out_of_fold_and_a_retrain_embeds_only_the_new_example_on_two_packs() {
    for &(pack, intent) in PACKS {
        let fixture = Fixture::pack(pack);
        let out = fixture.run(&["train"], "");
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("(5-fold cross-validation)") && text.contains("calibration error"),
            "{pack}: {text}"
        );
        let first = meta(&fixture);
        assert_eq!(first.metrics.method, "5-fold cross-validation");
        // Every example is read once by a model that did not train on it.
        assert_eq!(first.metrics.validation_examples, first.examples, "{pack}");
        assert_eq!(first.metrics.reliability.readings, first.examples);
        assert!(first.metrics.embedded >= first.examples, "{pack}");

        // One new example: one sentence for the encoder, the rest from the cache.
        let intents = std::fs::read_dir(fixture.path().join("intents"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .contains(&format!("{intent}:"))
            })
            .unwrap();
        let yaml = std::fs::read_to_string(&intents).unwrap();
        let marker = format!("  {intent}:\n    examples:\n");
        assert!(yaml.contains(&marker), "{pack}: {yaml}");
        std::fs::write(
            &intents,
            yaml.replacen(
                &marker,
                &format!("{marker}      - a sentence nobody embedded before, for {intent}\n"),
                1,
            ),
        )
        .unwrap();
        let out = fixture.run(&["train"], "");
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let text = stdout(&out);
        let again = meta(&fixture);
        assert_eq!(again.metrics.encoded, 1, "{pack}: {text}");
        assert!(
            text.contains(&format!(
                "{} sentences embedded, 1 of them by the encoder and {} from the cache",
                again.metrics.embedded,
                again.metrics.embedded - 1
            )),
            "{pack}: {text}"
        );
    }
}

#[test]
fn the_threshold_follows_the_stated_target_and_a_changed_target_retrains_on_two_packs() {
    for &(pack, _) in PACKS {
        let fixture = Fixture::trained_pack(pack);
        let balanced = meta(&fixture);
        assert!(
            balanced.calibration.threshold_rule.starts_with("balanced"),
            "{pack}: {}",
            balanced.calibration.threshold_rule
        );
        fixture.append_settings("threshold_target: refuse at most 1%\n");
        let out = fixture.run(&["train", "--if-stale"], "");
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("trained with other settings"),
            "{pack}: {}",
            stdout(&out)
        );
        let strict = meta(&fixture);
        assert!(
            strict
                .calibration
                .threshold_rule
                .starts_with("refuses at most 1% of the"),
            "{pack}: {}",
            strict.calibration.threshold_rule
        );
        assert!(strict.metrics.refused_right <= 0.01, "{pack}");
        let out = fixture.run(&["train", "--if-stale"], "");
        assert!(
            stdout(&out).contains("up to date"),
            "{pack}: {}",
            stdout(&out)
        );

        // A target that cannot be met is refused with its line.
        let yaml = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
        let line = yaml.lines().count();
        fixture.write(
            "opsbot.yaml",
            &yaml.replace("refuse at most 1%", "refuse at most 90%"),
        );
        let out = fixture.run(&["check"], "");
        assert!(!out.status.success());
        let error = stderr(&out);
        assert!(
            error.contains(&format!("opsbot.yaml:{line}"))
                && error.contains("threshold_target `refuse at most 90%`")
                && error.contains("expected `balanced` or `refuse at most N%`"),
            "{pack}: {error}"
        );
    }
}

#[test]
fn evaluate_reports_calibration_and_decides_at_the_configured_threshold_on_two_packs() {
    for &(pack, _) in PACKS {
        let fixture = Fixture::trained_pack(pack);
        let json = fixture.path().join("evaluation.json");
        let out = fixture.run(
            &["evaluate", "--folds", "3", "--json", json.to_str().unwrap()],
            "",
        );
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("threshold learned by each fold's model")
                && text.contains("expected calibration error")
                && text.contains("mean confidence   read right")
                && text.contains("refused right"),
            "{pack}: {text}"
        );
        let evaluation: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let reliability = &evaluation["reliability"];
        assert_eq!(
            reliability["readings"].as_u64().unwrap(),
            evaluation["examples"].as_u64().unwrap()
        );
        let ece = reliability["ece"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ece), "{pack}: {ece}");
        let binned: u64 = reliability["bins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(binned, reliability["readings"].as_u64().unwrap());

        // The threshold the live bot applies is the one evaluated; a strict one
        // refuses more of what the model reads right.
        let lenient = evaluation["refused_right"].as_f64().unwrap();
        fixture.append_settings("confidence_threshold: 0.97\n");
        let out = fixture.run(
            &["evaluate", "--folds", "3", "--json", json.to_str().unwrap()],
            "",
        );
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("threshold 0.97 from confidence_threshold in opsbot.yaml"),
            "{pack}: {}",
            stdout(&out)
        );
        let evaluation: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert!((evaluation["threshold"].as_f64().unwrap() - 0.97).abs() < 1e-6);
        assert!(
            evaluation["refused_right"].as_f64().unwrap() > lenient,
            "{pack}: 0.97 refuses more than the learned threshold"
        );
    }
}
