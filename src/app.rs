//! Where a project's pieces live on disk, and assembling them into a [`Runtime`].

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use std::sync::Arc;

use opsbot_encoder::MiniLm;
use opsbot_nlu::{IntentModel, Nlu, SentenceEncoder, MODEL_FILE};
use opsbot_runtime::{Runtime, RuntimeBuilder, SledStore};
use opsbot_spec::{Project, SpecError};

/// The folders a command works with.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Holds `intents/`, `dialogs/`, `models/`, `data/` and `opsbot.yaml`.
    pub project: PathBuf,
    /// Writable: the sled store and files actions write.
    pub state: PathBuf,
    /// The sentence encoder's folder, when not the project's own.
    pub encoder_dir: Option<PathBuf>,
    /// Whether the bot may start under an audit key the trail was not sealed
    /// with (`--new-audit-key`).
    pub key_policy: opsbot_runtime::KeyPolicy,
}

impl Paths {
    pub fn new(project: &Path, state: Option<&Path>) -> Paths {
        Paths {
            project: project.to_path_buf(),
            state: state
                .map(Path::to_path_buf)
                .unwrap_or_else(|| project.join("data").join("state")),
            encoder_dir: None,
            key_policy: opsbot_runtime::KeyPolicy::Refuse,
        }
    }

    /// Uses the sentence encoder in `dir` (`--encoder`, `OPSBOT_ENCODER`).
    pub fn with_encoder(mut self, dir: Option<&Path>) -> Paths {
        self.encoder_dir = dir.map(Path::to_path_buf);
        self
    }

    pub fn model(&self) -> PathBuf {
        self.project.join("models").join(MODEL_FILE)
    }

    /// The slot tagger, written by `opsbot train` beside the intent model.
    pub fn tagger(&self) -> PathBuf {
        self.project.join("models").join(opsbot_nlu::TAGGER_FILE)
    }

    /// The sentence encoder's files (fetched by `make models`).
    pub fn encoder(&self) -> PathBuf {
        self.encoder_dir
            .clone()
            .unwrap_or_else(|| self.project.join(opsbot_encoder::MODEL_DIR))
    }

    /// Where `opsbot train --fine-tune` writes its tuned encoder.
    pub fn fine_tuned_encoder(&self) -> PathBuf {
        self.project.join("models").join(FINE_TUNED_DIR)
    }

    /// Embeddings of training examples, so retraining encodes only what changed.
    pub fn embedding_cache(&self) -> PathBuf {
        self.project.join("models").join("embedding-cache.bin")
    }

    pub fn store(&self) -> PathBuf {
        self.state.join("opsbot.db")
    }

    /// The review inbox of misread messages (beside the store; see
    /// `opsbot_runtime::inbox`).
    pub fn inbox(&self) -> opsbot_runtime::Inbox {
        opsbot_runtime::Inbox::new(self.state.join("review"))
    }
}

/// An invalid project: its diagnostics are the message, one per line.
#[derive(Debug, thiserror::Error)]
#[error("{diagnostics}\n{count} mistake(s) found; nothing was changed")]
pub struct InvalidProject {
    pub diagnostics: opsbot_spec::Diagnostics,
    pub count: usize,
}

pub fn load_project(paths: &Paths) -> Result<Project> {
    match opsbot_spec::load_project(&paths.project) {
        Ok(project) => Ok(project),
        Err(SpecError::Invalid(diagnostics)) => {
            let count = diagnostics.len();
            Err(InvalidProject { diagnostics, count }.into())
        }
        Err(e) => {
            Err(e).with_context(|| format!("loading the project in {}", paths.project.display()))
        }
    }
}

/// Folder of the fine-tuned encoder under `models/`.
pub const FINE_TUNED_DIR: &str = "encoder-fine-tuned";

/// Loads the sentence encoder, with libtorch limited to `threads` intra-op threads.
pub fn load_encoder(paths: &Paths, threads: usize) -> Result<MiniLm> {
    MiniLm::set_threads(threads);
    Ok(MiniLm::load(&paths.encoder())?)
}

/// The encoder folder a model names (the stock one when it names none).
fn encoder_dir(paths: &Paths, meta: &opsbot_nlu::ModelMeta) -> PathBuf {
    let stock = opsbot_encoder::MODEL_DIR.trim_start_matches("models/");
    match &meta.encoder_dir {
        // The stock encoder is wherever `--encoder` says.
        Some(dir) if dir == stock => paths.encoder(),
        Some(dir) if !dir.contains("..") && !dir.contains('/') => {
            paths.project.join("models").join(dir)
        }
        _ => paths.encoder(),
    }
}

/// The trained model, with the encoder it was trained with (if any); one
/// trained on other data than `intents/` holds now is refused. For the
/// commands that judge or depend on the model matching the project.
pub fn load_nlu(project: &Project, paths: &Paths) -> Result<Nlu> {
    open_nlu(project, paths, false)
}

/// The model to serve: as [`load_nlu`], but one trained before `intents/`
/// last changed is taken rather than leaving the team without a bot until
/// someone runs `opsbot train` (the runtime's model service says so).
pub fn load_nlu_serving(project: &Project, paths: &Paths) -> Result<Nlu> {
    open_nlu(project, paths, true)
}

fn open_nlu(project: &Project, paths: &Paths, serving: bool) -> Result<Nlu> {
    let meta = IntentModel::load_meta(&paths.model())?;
    let encoder: Option<Arc<dyn SentenceEncoder>> = match meta.encoder {
        // One thread: fastest for one message at a time (see the encoder's notes).
        Some(_) => {
            MiniLm::set_threads(1);
            Some(Arc::new(MiniLm::load(&encoder_dir(paths, &meta))?))
        }
        None => None,
    };
    let nlu = if serving {
        Nlu::load_serving(project, &paths.model(), encoder)?
    } else {
        Nlu::load(project, &paths.model(), encoder)?
    };
    let tagger_path = paths.tagger();
    if !tagger_path.exists() {
        return Ok(nlu);
    }
    let tagger = opsbot_nlu::Tagger::load(&tagger_path)?;
    // Served stale, the tagger's labels of entities since removed are skipped.
    if tagger.training_hash() != project.training_hash && !serving {
        anyhow::bail!(
            "{} was trained on other data than intents/ now holds; run `opsbot train`",
            tagger_path.display()
        );
    }
    Ok(nlu.with_tagger(tagger, &tagger_path)?)
}

/// The project's runtime, to be finished by the caller's settings.
pub fn open_bot(paths: &Paths) -> Result<RuntimeBuilder> {
    let project = load_project(paths)?;
    let without: Vec<&str> = project
        .intents
        .keys()
        .filter(|i| project.dialog_for_intent(i).is_none())
        .map(String::as_str)
        .collect();
    if project.settings.nlu_only && !without.is_empty() {
        anyhow::bail!(
            "this project says `nlu_only: true` and intents {} have no dialog, so there is no bot to talk to; train and measure it with `opsbot train` and `opsbot evaluate`, or add dialogs and remove `nlu_only`",
            without.join(", ")
        );
    }
    let nlu = load_nlu_serving(&project, paths)?;
    let store = SledStore::open_with_policy(&paths.store(), paths.key_policy)?;
    Ok(Runtime::builder(project, nlu, store, paths.state.clone()).inbox(paths.inbox()))
}
