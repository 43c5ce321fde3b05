//! Refreshing the model of a running bot without downtime: on SIGHUP, when the
//! model file changes (after `opsbot train`), or when an admin says "reload the
//! model". The new project and model are loaded beside the old ones and swapped
//! in atomically; a model that fails to load leaves the running one in place.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opsbot_runtime::{Reloader, Runtime};

use crate::app::{self, Paths};

/// How often the model file is checked for a newer version.
const POLL: Duration = Duration::from_secs(2);

/// Loads the project and the model from `paths`, as at start-up.
pub fn reloader(paths: &Paths) -> Arc<Reloader> {
    let paths = paths.clone();
    Arc::new(move || {
        let project = app::load_project(&paths).map_err(|e| format!("{e:#}"))?;
        let nlu = app::load_nlu_serving(&project, &paths).map_err(|e| format!("{e:#}"))?;
        Ok((project, nlu))
    })
}

fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Watches for SIGHUP and for a new model file until the bot stops; runs on the
/// bot's runtime. Loading happens off the async workers.
pub async fn watch(bot: Arc<Runtime>, paths: Paths) {
    let reload = reloader(&paths);
    let model = paths.model();
    let mut seen = stamp(&model);
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(%error, "no SIGHUP handler; the model file is still watched");
            None
        }
    };
    loop {
        let why = tokio::select! {
            _ = async { hangup.as_mut().expect("checked").recv().await }, if hangup.is_some() => "SIGHUP",
            _ = tokio::time::sleep(POLL) => {
                let now = stamp(&model);
                if now == seen || now.is_none() {
                    continue;
                }
                // The trainer renames a complete file into place; a stamp that
                // changes again within the poll is picked up on the next one.
                seen = now;
                "a new model file"
            }
        };
        let reload = reload.clone();
        match tokio::task::spawn_blocking(move || reload()).await {
            Ok(Ok((project, nlu))) => {
                tracing::info!(trigger = why, trained_at = %nlu.model().meta.trained_at, "loaded the new model");
                bot.model().replace(project, nlu);
                seen = stamp(&model);
            }
            Ok(Err(error)) => {
                tracing::error!(trigger = why, %error, "could not load the new model; still using the current one")
            }
            Err(error) => {
                tracing::error!(%error, "model loading panicked; still using the current one")
            }
        }
    }
}
