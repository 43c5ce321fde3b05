//! The operator's commands (`audit`, `audit verify`, `audit export`,
//! `alerts`, `2fa`, `schedule`): run on the store when it is free, and by the
//! running bot, through its admin socket, when the bot holds it (one process
//! per sled store). Either way the same code prints the same output: it is
//! given a [`Host`] — the store this process opened, or the running bot's —
//! and writes to a `Write`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::anyhow;
use opsbot_runtime::store::Job;
use opsbot_runtime::{RuntimeError, Store};
use opsbot_spec::Project;

use super::*;
use crate::admin::{self, Request};

/// Where an operator's command runs: what it reads and changes.
pub(crate) trait Host {
    fn store(&self) -> &dyn Store;
    /// The project (its name, zones and dialogs), read when a command needs it.
    fn project(&self) -> Result<Project>;
    /// Cancels the scheduled request `id` as the operator `by`; `None` when
    /// no request has that id.
    fn cancel(&self, id: &str, by: &str) -> Result<Option<Job>>;
}

/// The store this process opened: no bot holds it.
struct Direct<'p> {
    paths: &'p Paths,
    store: SledStore,
}

impl Host for Direct<'_> {
    fn store(&self) -> &dyn Store {
        &self.store
    }

    fn project(&self) -> Result<Project> {
        app::load_project(self.paths)
    }

    fn cancel(&self, id: &str, by: &str) -> Result<Option<Job>> {
        let project = self.project()?;
        Ok(opsbot_runtime::command::schedule::cancel_as_operator(
            &self.store,
            &project.settings,
            id,
            by,
            chrono::Utc::now(),
        )?)
    }
}

/// Runs `request` on `host`, its output to `out`: the one body of each
/// operator command, whichever process runs it.
pub(crate) fn execute(request: &Request, host: &dyn Host, out: &mut dyn Write) -> Result<()> {
    match request {
        Request::Audit(args) => audit::audit(host.store(), args, out),
        Request::AuditVerify {} => audit::verify(host.store(), out),
        Request::AuditExport(args) => timeline::export(host, args, out),
        Request::Alerts(args) => alerts::alerts(host.store(), args, out),
        Request::TwoFactor { action } => audit::two_factor(host, action, out),
        Request::ScheduleList {} => schedule::list(host, out),
        Request::ScheduleCancel { id, by } => schedule::cancel(host, id, by, out),
    }
}

/// Runs an operator's command here when the store is free; through the
/// running bot when it holds the store; with the old error and a hint when
/// it holds it and nothing answers on its socket.
pub(super) fn dispatch(paths: &Paths, request: Request) -> Result<ExitCode> {
    let store_path = paths.store();
    // 2fa enrols into a new store; the others have nothing to show yet.
    if !store_path.exists() && !matches!(request, Request::TwoFactor { .. }) {
        nothing_yet(&store_path, &request)?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = match SledStore::open(&store_path) {
        Ok(store) => store,
        Err(error @ RuntimeError::StoreLocked { .. }) => {
            return match admin::ask(&paths.state, &request)? {
                Some(code) => Ok(code),
                None => Err(anyhow!(
                    "{error}\nhint: a running `opsbot run` or `opsbot shell` answers this command on {}, but none answered there (a bot from an older opsbot, or its socket was removed)",
                    admin::socket_path(&paths.state).display()
                )),
            };
        }
        Err(error @ RuntimeError::AuditKeyChanged { .. })
            if matches!(request, Request::AuditVerify {}) =>
        {
            println!("{error}");
            bail!("the audit trail cannot be verified with this audit key")
        }
        Err(error) => return Err(error.into()),
    };
    let host = Direct { paths, store };
    execute(&request, &host, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

/// What each command says when the store was never made.
fn nothing_yet(store_path: &Path, request: &Request) -> Result<()> {
    match request {
        Request::AuditVerify {} => audit::verify_copy_without_store(store_path),
        Request::ScheduleList {} => {
            println!(
                "nothing is scheduled ({} does not exist)",
                store_path.display()
            );
            Ok(())
        }
        Request::ScheduleCancel { id, .. } => bail!(
            "no scheduled request has an id starting with {id} ({} does not exist)",
            store_path.display()
        ),
        _ => {
            println!(
                "no audit records yet ({} does not exist)",
                store_path.display()
            );
            Ok(())
        }
    }
}

/// Who cancels from the command line without `--as`: "cli:" and the user
/// this process runs as.
pub(super) fn cli_user() -> String {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|user| user.name)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| format!("uid {uid}"));
    format!("cli:{name}")
}
