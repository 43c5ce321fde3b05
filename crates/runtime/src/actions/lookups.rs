//! The `values_from` lookups of cross-slot checks: a program's output lines,
//! or a file's, under the project — read-only, never past their timeout.

use opsbot_dialog::{Lookup, Plan};
use opsbot_spec::guard::LOOKUP_TIMEOUT;
use opsbot_spec::Project;

use super::Actions;
use crate::exec::{self, Invocation};
use crate::lookup::{self, LookupError, MAX_LOOKUP_BYTES};

impl Actions {
    /// The values a lookup lists (trimmed lines, no blanks or `#` comments),
    /// or why there are none to read. Nothing here blocks the async workers
    /// or waits past [`LOOKUP_TIMEOUT`].
    pub(crate) async fn look_up(
        &self,
        project: &Project,
        lookup: &Lookup,
    ) -> Result<Vec<String>, String> {
        let result = match lookup {
            Lookup::Refused(why) => Err(LookupError::Refused(why.clone())),
            Lookup::File {
                path,
                folder,
                shown,
            } => {
                let file = lookup::FileLookup {
                    path: path.clone(),
                    folder: folder.clone(),
                    state: self.state_dir.clone(),
                    shown: shown.clone(),
                };
                lookup::file_values(file, LOOKUP_TIMEOUT).await
            }
            Lookup::Program(plan) => self.program_values(project, plan).await,
        };
        result.map_err(|e| {
            tracing::warn!(error = %e, "a lookup gave no values");
            e.to_string()
        })
    }

    /// A lookup program's standard output lines (its errors are not values),
    /// run like an action but within the lookup's timeout and output cap.
    async fn program_values(
        &self,
        project: &Project,
        plan: &Plan,
    ) -> Result<Vec<String>, LookupError> {
        let Plan::Program {
            program,
            args,
            env,
            timeout,
            workdir,
            ..
        } = plan
        else {
            return Err(LookupError::Program(
                "a lookup runs a program, not a built-in".into(),
            ));
        };
        // Waiting for a free action slot counts against the lookup's time too.
        let started = tokio::time::Instant::now();
        let Ok(Ok(_slot)) = tokio::time::timeout(LOOKUP_TIMEOUT, self.slots.acquire()).await else {
            return Err(LookupError::TimedOut {
                what: format!("waiting to run {}", plan.command_line()),
                after: LOOKUP_TIMEOUT,
            });
        };
        let left = LOOKUP_TIMEOUT.saturating_sub(started.elapsed());
        let env = self.action_env(project, env);
        let captured = exec::run_captured(&Invocation {
            program,
            args,
            env: &env,
            workdir,
            timeout: (*timeout).min(left),
        })
        .await;
        let outcome = captured.outcome;
        if !outcome.succeeded {
            return Err(LookupError::Program(outcome.error.clone().unwrap_or_else(
                || {
                    format!(
                        "{} exited with {:?}",
                        plan.command_line(),
                        outcome.exit_code
                    )
                },
            )));
        }
        if captured.stdout_total > MAX_LOOKUP_BYTES {
            return Err(LookupError::Program(format!(
                "{} printed more than {MAX_LOOKUP_BYTES} bytes",
                plan.command_line()
            )));
        }
        let text = String::from_utf8(captured.stdout).map_err(|_| {
            LookupError::Program(format!("{} printed no UTF-8 text", plan.command_line()))
        })?;
        lookup::values(&text)
    }
}
