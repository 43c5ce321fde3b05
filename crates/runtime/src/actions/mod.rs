//! The actions service: runs a confirmed plan (argv only, through
//! [`crate::exec`]) within the bot's limit of actions at once, performs the
//! engine's read-only lookups, and answers the built-in audit query.

use std::path::PathBuf;
use std::sync::Arc;

use opsbot_dialog::{ActionOutcome, Plan};
use opsbot_spec::Project;

use crate::exec::{self, Invocation};
use crate::floor::Floor;
use crate::model::Loaded;

mod audit_query;
mod lookups;

pub struct Actions {
    floor: Arc<Floor>,
    /// Bounds how many actions (and lookup programs) run at once across all
    /// conversations.
    slots: tokio::sync::Semaphore,
    /// Writable folder handed to actions as `OPSBOT_STATE_DIR`.
    state_dir: PathBuf,
}

impl Actions {
    pub(crate) fn new(floor: Arc<Floor>, state_dir: PathBuf, limit: usize) -> Actions {
        Actions {
            floor,
            slots: tokio::sync::Semaphore::new(limit.max(1)),
            // Actions run in other folders: a relative `--state` would name
            // another folder for each of them.
            state_dir: std::path::absolute(&state_dir).unwrap_or(state_dir),
        }
    }

    /// The writable folder actions get as `OPSBOT_STATE_DIR`.
    pub fn state_dir(&self) -> &std::path::Path {
        &self.state_dir
    }

    /// Runs a plan to its outcome (waiting for a free slot first).
    pub(crate) async fn execute(&self, loaded: &Loaded, plan: &Plan) -> ActionOutcome {
        match plan {
            Plan::Program {
                program,
                args,
                env,
                timeout,
                workdir,
                ..
            } => {
                let _slot = self
                    .slots
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                let env = self.action_env(&loaded.project, env);
                exec::run(&Invocation {
                    program,
                    args,
                    env: &env,
                    workdir,
                    timeout: *timeout,
                })
                .await
            }
            Plan::ShowAudit(query) => self.show_audit(loaded, query),
        }
    }

    /// An action's (or a lookup program's) environment: its own, plus where
    /// the state folder and the project are.
    fn action_env(&self, project: &Project, env: &[(String, String)]) -> Vec<(String, String)> {
        if let Err(e) = std::fs::create_dir_all(&self.state_dir) {
            tracing::warn!(dir = %self.state_dir.display(), error = %e, "cannot create the state folder");
        }
        let mut env = env.to_vec();
        env.push((
            "OPSBOT_STATE_DIR".into(),
            self.state_dir.display().to_string(),
        ));
        env.push((
            "OPSBOT_PROJECT_DIR".into(),
            project.root.display().to_string(),
        ));
        env
    }
}
