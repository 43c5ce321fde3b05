//! The exact thing that will run: a program with its argument vector and
//! environment, rendered from the dialog's templates and the validated slots.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use opsbot_spec::{Action, Dialog};
use serde::{Deserialize, Serialize};

use crate::state::Request;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Plan {
    Program {
        program: PathBuf,
        /// The program as the author wrote it, for previews and the audit.
        program_display: String,
        /// One element per argument template: a slot value is always one argument.
        args: Vec<String>,
        env: Vec<(String, String)>,
        timeout: Duration,
        workdir: PathBuf,
    },
    ShowAudit(AuditQuery),
}

/// Where a slot's allowed values are read: a read-only program's output, or
/// a file under the project's lookup folder (the runtime resolves it on disk
/// and reads it only if it stays inside the folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Lookup {
    Program(Plan),
    File {
        /// The filled path, joined to the project root.
        path: PathBuf,
        /// The lookup folder (resolved at load) it must stay in.
        folder: PathBuf,
        /// The filled path as written, for messages.
        shown: String,
    },
    /// The filled path is refused before anything is read: why.
    Refused(String),
}

/// The lookup of a slot's `values_from`, with the request's values filled in.
pub fn lookup(
    dialog: &Dialog,
    from: &opsbot_spec::ValuesFrom,
    vars: &BTreeMap<String, String>,
    request: &Request,
    user: &str,
    room: &str,
    root: &std::path::Path,
) -> Lookup {
    match from {
        opsbot_spec::ValuesFrom::Program(program) => Lookup::Program(build(
            dialog,
            &Action::Program(program.clone()),
            vars,
            request,
            user,
            room,
        )),
        opsbot_spec::ValuesFrom::File(file) => file_lookup(file, vars, root),
    }
}

/// A file lookup's filled path, or why it is refused before anything is read.
fn file_lookup(
    file: &opsbot_spec::FileLookup,
    vars: &BTreeMap<String, String>,
    root: &std::path::Path,
) -> Lookup {
    let rendered = file.path.render(vars);
    // A value fills its place in one name: it never adds a folder
    // ("state/audit.key") nor climbs out of one.
    let stray = file.path.placeholders().into_iter().find_map(|(name, _)| {
        let value = vars.get(&name)?;
        (value.contains(['/', '\0']) || value == "." || value == "..").then_some(name)
    });
    if let Some(name) = stray {
        return Lookup::Refused(format!(
            "the value of {name} may not contain a path (`/`, `.` or `..`), so {rendered} is not looked up"
        ));
    }
    let relative = std::path::Path::new(&rendered);
    let inside = !relative.is_absolute()
        && relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if inside {
        Lookup::File {
            path: root.join(relative),
            folder: file.folder.clone(),
            shown: rendered,
        }
    } else {
        Lookup::Refused(format!(
            "the file `{rendered}` would lie outside the project folder"
        ))
    }
}

/// Which audit records a `show_audit` action lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub intent: Option<String>,
    /// A person or any of their ids.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub all_outcomes: bool,
    pub limit: usize,
    /// The asker's time zone (IANA name): the times listed read in it.
    #[serde(default)]
    pub zone: Option<String>,
}

impl AuditQuery {
    /// "the last 5 `deploy_app` records of alice since 2026-11-24 00:00 UTC".
    pub fn describe(&self) -> String {
        let mut text = format!("the last {}", self.limit);
        if let Some(intent) = &self.intent {
            text.push_str(&format!(" `{intent}`"));
        }
        text.push_str(if self.all_outcomes {
            " audit records"
        } else {
            " actions that ran"
        });
        if let Some(user) = &self.user {
            text.push_str(&format!(" of {user}"));
        }
        if let Some(since) = &self.since {
            text.push_str(&format!(" since {}", since.format("%Y-%m-%d %H:%M UTC")));
        }
        text
    }
}

impl Plan {
    /// A readable command line for previews and the audit; each argument is
    /// quoted when it needs it, but nothing here is ever given to a shell.
    pub fn command_line(&self) -> String {
        match self {
            Plan::Program {
                program_display,
                args,
                ..
            } => std::iter::once(program_display.as_str())
                .chain(args.iter().map(String::as_str))
                .map(quote_for_display)
                .collect::<Vec<_>>()
                .join(" "),
            Plan::ShowAudit(query) => format!("(built in) show {}", query.describe()),
        }
    }
}

impl Plan {
    /// What a dry run reports: the exact argument vector and environment.
    pub fn describe(&self) -> String {
        match self {
            Plan::Program {
                env,
                timeout,
                workdir,
                ..
            } => {
                let env: Vec<String> = env
                    .iter()
                    .map(|(k, v)| format!("{k}={}", quote_for_display(v)))
                    .collect();
                format!(
                    "I would run: {}\nin {} with a timeout of {}, and environment: {}",
                    self.command_line(),
                    workdir.display(),
                    humantime::format_duration(*timeout),
                    env.join(" ")
                )
            }
            Plan::ShowAudit(_) => format!("I would run: {}", self.command_line()),
        }
    }
}

pub(crate) fn quote_for_display(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Template variables for a request: its slots plus who asked, where, and the bot.
pub fn variables(request: &Request, user: &str, room: &str, bot: &str) -> BTreeMap<String, String> {
    let mut vars = request.slot_values();
    vars.insert("user".into(), user.into());
    vars.insert("room".into(), room.into());
    vars.insert("bot".into(), bot.into());
    vars
}

/// Renders the dialog's action for a request whose slots are all filled.
pub fn build(
    dialog: &Dialog,
    action: &Action,
    vars: &BTreeMap<String, String>,
    request: &Request,
    user: &str,
    room: &str,
) -> Plan {
    match action {
        // The engine builds each step's plan as the run reaches it; asked
        // for the runbook as a whole, its first program step stands for it.
        Action::Runbook(runbook) => {
            let first = runbook.steps.iter().find_map(|step| match &step.does {
                opsbot_spec::StepKind::Program(p) => Some(Action::Program(p.clone())),
                opsbot_spec::StepKind::Ask(_) | opsbot_spec::StepKind::Wait(_) => None,
            });
            match first {
                Some(program) => build(dialog, &program, vars, request, user, room),
                None => Plan::Program {
                    program: PathBuf::new(),
                    program_display: String::new(),
                    args: Vec::new(),
                    env: Vec::new(),
                    timeout: Duration::ZERO,
                    workdir: PathBuf::new(),
                },
            }
        }
        Action::ShowAudit(show) => {
            let rendered = |t: &Option<opsbot_spec::Template>| {
                t.as_ref()
                    .map(|t| t.render(vars))
                    .filter(|v| !v.trim().is_empty())
            };
            Plan::ShowAudit(AuditQuery {
                intent: show.intent.clone(),
                user: rendered(&show.user),
                since: rendered(&show.since)
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc)),
                all_outcomes: show.all_outcomes,
                limit: show.limit,
                zone: None,
            })
        }
        Action::Program(p) => {
            let mut env: Vec<(String, String)> = request
                .slots
                .iter()
                .map(|(name, v)| (format!("OPSBOT_SLOT_{}", env_name(name)), v.value.clone()))
                .collect();
            env.push(("OPSBOT_USER".into(), user.into()));
            env.push(("OPSBOT_ROOM".into(), room.into()));
            env.push(("OPSBOT_DIALOG".into(), dialog.name.clone()));
            env.extend(p.env.iter().map(|(k, t)| (k.clone(), t.render(vars))));
            Plan::Program {
                program: p.program.clone(),
                program_display: p.program_display.clone(),
                args: p.args.iter().map(|t| t.render(vars)).collect(),
                env,
                timeout: p.timeout,
                workdir: p.workdir.clone(),
            }
        }
    }
}

fn env_name(slot: &str) -> String {
    slot.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_quotes_for_reading_only() {
        let plan = Plan::Program {
            program: "/p/a.sh".into(),
            program_display: "actions/a.sh".into(),
            args: vec!["web-01".into(), "x; touch /tmp/y".into(), "it's".into()],
            env: vec![],
            timeout: Duration::from_secs(1),
            workdir: "/p".into(),
        };
        assert_eq!(
            plan.command_line(),
            r"actions/a.sh web-01 'x; touch /tmp/y' 'it'\''s'"
        );
    }

    #[test]
    fn a_value_never_adds_a_folder_to_a_file_lookup() {
        let file = opsbot_spec::FileLookup {
            path: opsbot_spec::Template::parse("data/{path}").unwrap(),
            folder: "/p/data".into(),
        };
        for (value, refused) in [
            ("state/audit.key", true),
            ("..", true),
            (".", true),
            ("a\0b", true),
            ("builds.txt", false),
        ] {
            let vars = BTreeMap::from([("path".to_string(), value.to_string())]);
            let lookup = file_lookup(&file, &vars, std::path::Path::new("/p"));
            assert_eq!(
                matches!(lookup, Lookup::Refused(_)),
                refused,
                "{value:?}: {lookup:?}"
            );
        }
    }
}
