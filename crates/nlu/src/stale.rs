//! A model trained before `intents/` last changed. The bot keeps serving it —
//! one restart between `opsbot review accept` and `opsbot train` must not take
//! the bot down — and says so (log, `opsbot check`, `/readyz`, `/metrics`);
//! the commands that judge a model (`opsbot test`, `opsbot evaluate`) still
//! refuse it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use opsbot_spec::{Project, OUT_OF_SCOPE};

use crate::model::IntentModel;

/// How a served model differs from the project it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    pub path: PathBuf,
    /// Short hashes of the data it was trained on, and of `intents/` now.
    pub trained_on: String,
    pub current: String,
    /// The project's intents the model has never seen: nothing reads as them
    /// until the model is trained.
    pub unknown_to_model: Vec<String>,
    /// Intents the model knows that the project no longer has: a message
    /// read as one of them is taken as not understood.
    pub removed: Vec<String>,
}

impl Staleness {
    /// `None` when the model was trained on the project's data as it is now.
    pub fn of(project: &Project, model: &IntentModel, path: PathBuf) -> Option<Staleness> {
        if model.meta.training_hash == project.training_hash {
            return None;
        }
        let known: BTreeSet<&str> = model.classes.iter().map(String::as_str).collect();
        Some(Staleness {
            path,
            trained_on: short(&model.meta.training_hash),
            current: short(&project.training_hash),
            unknown_to_model: project
                .intents
                .keys()
                .filter(|i| !known.contains(i.as_str()))
                .cloned()
                .collect(),
            removed: model
                .classes
                .iter()
                .filter(|c| c.as_str() != OUT_OF_SCOPE && !project.intents.contains_key(*c))
                .cloned()
                .collect(),
        })
    }
}

impl std::fmt::Display for Staleness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is stale: it was trained on intents {} but intents/ is now {}; it is served until `opsbot train` replaces it",
            self.path.display(),
            self.trained_on,
            self.current
        )?;
        if !self.unknown_to_model.is_empty() {
            write!(
                f,
                "; it cannot read the new intents {} yet",
                self.unknown_to_model.join(", ")
            )?;
        }
        if !self.removed.is_empty() {
            write!(
                f,
                "; a message it reads as the removed intents {} is not understood",
                self.removed.join(", ")
            )?;
        }
        Ok(())
    }
}

/// The first 12 characters of a hash, as the messages show it.
fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{train, EntityExtractor, Nlu, NluConfig, NluError, TrainOptions, TrainingData};

    /// The example bot trained on n-grams (quick), saved in `dir`.
    fn trained(dir: &Path) -> (opsbot_spec::Project, std::path::PathBuf) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let project = opsbot_spec::load_project(&root).expect("example bot loads");
        let model = train(
            &TrainingData::from_project(&project),
            &EntityExtractor::new(&project),
            &NluConfig::default(),
            &project.training_hash,
            TrainOptions {
                encoder: None,
                validation: None,
                previous: None,
            },
            |_| {},
        )
        .unwrap();
        let path = dir.join("intent-model.bin");
        model.save(&path).unwrap();
        (project, path)
    }

    #[test]
    fn a_stale_model_is_served_without_the_intents_removed_since_and_judging_refuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let (project, path) = trained(dir.path());
        assert!(Nlu::load(&project, &path, None).unwrap().stale().is_none());

        // intents/ edited after training: one intent removed, one added.
        let mut edited = project.clone();
        let removed = edited.intents.remove("rollback_app").unwrap();
        edited.intents.insert("drain_node".into(), removed.clone());
        edited.training_hash = "edited".into();

        let refused = Nlu::load(&edited, &path, None).unwrap_err();
        assert!(matches!(refused, NluError::Stale { .. }), "{refused}");
        let nlu = Nlu::load_serving(&edited, &path, None).unwrap();
        let stale = nlu.stale().expect("served stale");
        assert_eq!(stale.removed, ["rollback_app"]);
        assert_eq!(stale.unknown_to_model, ["drain_node"]);
        let said = stale.to_string();
        assert!(
            said.contains("is stale") && said.contains("opsbot train"),
            "{said}"
        );

        // Its own training examples read as the removed intent before; now
        // never: no dialog would answer it.
        let fresh = Nlu::load(&project, &path, None).unwrap();
        let mut read_before = 0;
        for example in &removed.examples {
            let text = example.text.as_str();
            if fresh
                .understand(text)
                .intent
                .is_some_and(|i| i.name == "rollback_app")
            {
                read_before += 1;
            }
            let now = nlu.understand(text);
            assert!(
                now.intent.as_ref().is_none_or(|i| i.name != "rollback_app")
                    && now.ranking.iter().all(|g| g.name != "rollback_app"),
                "{text}: {now:?}"
            );
        }
        assert!(
            read_before > 0,
            "the test needs examples the model read as it"
        );
    }
}
