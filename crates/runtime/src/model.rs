//! The model service: the project and the model that understands it, swapped
//! together on a refresh (SIGHUP, a new model file, an admin's "reload the
//! model"). Each message works with the snapshot it started with.

use std::sync::{Arc, RwLock};

use opsbot_nlu::Nlu;
use opsbot_spec::Project;
use prometheus::IntGauge;

/// Loads a freshly trained model (and the project files it was trained on).
pub type Reloader = dyn Fn() -> Result<(Project, Nlu), String> + Send + Sync;

/// The project and its model, as one snapshot.
pub struct Loaded {
    pub project: Project,
    pub nlu: Nlu,
}

pub struct Model {
    loaded: RwLock<Arc<Loaded>>,
    reloader: Option<Arc<Reloader>>,
    /// `opsbot_model_stale`, kept true to the model in use.
    stale: IntGauge,
}

impl Model {
    pub(crate) fn new(
        project: Project,
        nlu: Nlu,
        reloader: Option<Arc<Reloader>>,
        stale: IntGauge,
    ) -> Model {
        say_if_stale(&stale, &nlu);
        Model {
            loaded: RwLock::new(Arc::new(Loaded { project, nlu })),
            reloader,
            stale,
        }
    }

    /// What needs attention about the model in use (it is served stale).
    pub fn warning(&self) -> Option<String> {
        self.snapshot().nlu.stale().map(ToString::to_string)
    }

    /// The project and model in use now (a refresh may replace them).
    pub fn snapshot(&self) -> Arc<Loaded> {
        self.loaded.read().expect("model lock").clone()
    }

    /// Swaps in a newly trained model with its project; messages already being
    /// handled finish with the ones they started with, none waits or is dropped.
    pub fn replace(&self, project: Project, nlu: Nlu) {
        say_if_stale(&self.stale, &nlu);
        *self.loaded.write().expect("model lock") = Arc::new(Loaded { project, nlu });
        tracing::info!("intent model refreshed");
    }

    /// Loads the newest model and swaps it in: the summary to tell, or why
    /// the current one stays. `None` when reloading from chat is not enabled.
    pub(crate) async fn reload(&self) -> Option<Result<String, String>> {
        let reloader = self.reloader.clone()?;
        let loaded = match tokio::task::spawn_blocking(move || reloader()).await {
            Ok(loaded) => loaded,
            Err(error) => Err(error.to_string()),
        };
        Some(loaded.map(|(project, nlu)| {
            let meta = &nlu.model().meta;
            let mut summary = format!(
                "Reloaded the intent model: trained {} on {} examples of {} intents.",
                meta.trained_at, meta.examples, meta.intents
            );
            if nlu.stale().is_some() {
                summary.push_str(
                    " It was trained before intents/ last changed: run `opsbot train` for the new examples.",
                );
            }
            self.replace(project, nlu);
            summary
        }))
    }
}

/// Keeps `opsbot_model_stale` true to `nlu` and logs a stale model, at
/// start and on every swap: the one place a served stale model is said.
fn say_if_stale(gauge: &IntGauge, nlu: &Nlu) {
    gauge.set(i64::from(nlu.stale().is_some()));
    if let Some(stale) = nlu.stale() {
        tracing::warn!("{stale}");
    }
}
