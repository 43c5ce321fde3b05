//! The `opsbot` command line: flags parsed by clap into plain structs, each
//! subcommand a function returning `anyhow::Result`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use opsbot_encoder::{CachedEncoder, EmbeddingCache};
use opsbot_nlu::evaluate::cross_validate;
use opsbot_nlu::{
    EntityExtractor, IntentModel, NluConfig, SentenceEncoder, TrainOptions, TrainProgress,
    TrainingData,
};
use opsbot_runtime::{AuditRecord, Runtime, SledStore};
use serde::{Deserialize, Serialize};

use crate::adapters::shell::{self, ShellOptions};
use crate::admin::Request;
use crate::app::{self, Paths};
use crate::transcript;

#[derive(Debug, Parser)]
#[command(
    name = "opsbot",
    version,
    about = "Natural-language ChatOps: YAML-authored intents and dialogs, trained NLU, safe execution"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Project folder (holds intents/, dialogs/, models/, data/).
    #[arg(long, global = true, env = "OPSBOT_PROJECT", default_value = ".")]
    pub project: PathBuf,
    /// Writable state folder for the store and action output [default: <project>/data/state].
    #[arg(long, global = true, env = "OPSBOT_STATE")]
    pub state: Option<PathBuf>,
    /// The sentence encoder's folder (all-MiniLM-L6-v2) [default:
    /// <project>/models/all-MiniLM-L6-v2].
    #[arg(long, global = true, env = "OPSBOT_ENCODER")]
    pub encoder: Option<PathBuf>,
    /// Start even though the audit key is not the one the trail was sealed
    /// with (it was lost): later records are sealed with this key, earlier
    /// ones keep their links checked.
    #[arg(long, global = true)]
    pub new_audit_key: bool,
    /// Show opsbot's log lines (info) on stderr in `shell` and `test` too,
    /// which otherwise show only the conversation and warnings. RUST_LOG
    /// overrides both.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check intents, entities and dialogs; print every mistake as file:line:column.
    Check,
    /// Train the intent model from intents/ and write it to models/.
    Train(TrainArgs),
    /// Convert Rasa NLU (YAML or Markdown), `text<TAB>intent` or CSV training data to opsbot intents YAML.
    Import(ImportArgs),
    /// Measure the intent classifier by k-fold cross-validation or on a test file.
    Evaluate(EvaluateArgs),
    /// Run the bot in Matrix rooms (configuration from --config and OPSBOT_MATRIX_*).
    Run(RunArgs),
    /// Converse with the bot in the terminal (one message per line when not a terminal).
    Shell(ShellArgs),
    /// List audit records newest first; verify the hash chain; export a timeline.
    Audit(AuditArgs),
    /// List the alert groups the bot keeps (open ones unless --all) and the mutes in force.
    Alerts(AlertsArgs),
    /// Step-up two-factor authentication (TOTP): enrol or remove users.
    #[command(name = "2fa", subcommand)]
    TwoFactor(TwoFactorCommand),
    /// List the requests scheduled for later; cancel one by its id.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Propose a request through the running bot's HTTP API (token in
    /// OPSBOT_API_TOKEN); the person it is for confirms it in the room.
    Ask(door_args::AskArgs),
    /// Serve the bot's MCP tools on stdin/stdout for an LLM assistant,
    /// through the running bot's HTTP API (token in OPSBOT_API_TOKEN).
    Mcp(door_args::McpArgs),
    /// Run conversation transcripts against the trained bot with a throwaway store.
    Test(TestArgs),
    /// Review the messages the bot misread in real conversations: label them
    /// into intents/, then retrain (interactive without a subcommand).
    Review(review::ReviewArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Only train when the model is missing, stale or from another format.
    #[arg(long)]
    pub if_stale: bool,
    /// Also train the sentence encoder's weights on the examples (minutes, not
    /// seconds); the tuned encoder is saved under models/encoder-fine-tuned.
    #[arg(long)]
    pub fine_tune: bool,
    /// Epochs of fine-tuning.
    #[arg(long, default_value_t = 3, requires = "fine_tune")]
    pub fine_tune_epochs: usize,
    /// Write the new model even if its held-out accuracy collapsed against
    /// the model it replaces.
    #[arg(long)]
    pub force: bool,
    /// Train from zero with full calibration, even after a small edit of a
    /// large project (which otherwise starts from the previous model).
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A .yml/.yaml (Rasa), .md (Rasa), .tsv or .csv file.
    pub file: PathBuf,
    /// Where to write the intents [default: <project>/intents/imported.yaml].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// The CSV/TSV column holding the text, by its header name
    /// [default: text, sentence, utterance, query, example, phrase or message].
    #[arg(long = "text", value_name = "COLUMN")]
    pub text_column: Option<String>,
    /// The CSV/TSV column holding the intent, by its header name
    /// [default: intent, label, category, class, intent_name or target].
    #[arg(long = "intent", value_name = "COLUMN")]
    pub intent_column: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Score the trained model on this labelled file instead of cross-validating
    /// (opsbot or Rasa YAML, Rasa Markdown, `text<TAB>intent`, or CSV `text,intent`).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Also write the full evaluation as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also draw the confusion matrix as an SVG image here.
    #[arg(long)]
    pub confusion: Option<PathBuf>,
    /// First score the messages labelled with `opsbot review`: as they were
    /// read then, and by the model trained now.
    #[arg(long)]
    pub reviewed: bool,
    /// Requests no dialog serves, one per line, that the trained bot must
    /// refuse [default: tests/near_misses.txt when it exists].
    #[arg(long)]
    pub near_misses: Option<PathBuf>,
    /// Requests the bot should understand, "message<TAB>intent" per line:
    /// counts how many of those the classifier reads right are started, asked
    /// about or refused [default: tests/right_readings.txt when it exists].
    #[arg(long)]
    pub right_readings: Option<PathBuf>,
    /// Requests with a part no slot takes, "message<TAB>extra part" per line:
    /// counts the confirmations that name it [default:
    /// tests/extra_parts.txt when it exists].
    #[arg(long)]
    pub extra_parts: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Who you are in the conversation [default: $USER].
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long, default_value = "shell")]
    pub room: String,
    /// Run nothing: every request ends by showing the argv and environment it would run.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Matrix adapter configuration (YAML); environment variables override it.
    #[arg(long, env = "OPSBOT_MATRIX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Run nothing: every request ends by showing the argv and environment it would run.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Subcommand, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TwoFactorCommand {
    /// Create a TOTP secret for USER and print its otpauth:// URI once.
    Enroll {
        user: String,
        /// Replace an existing secret.
        #[arg(long)]
        force: bool,
    },
    /// Remove USER's TOTP secret.
    Remove { user: String },
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; name any record edited, removed or reordered.
    Verify,
    /// Write a timeline for a postmortem or learning review.
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Jsonl,
    Markdown,
}

#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ExportFormat,
    /// Only records since this time: an RFC 3339 time, a date (2026-11-24) or an age (`24h`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub room: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<AuditCommand>,
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub intent: Option<String>,
    /// Only records whose messages, slots or command contain this text.
    #[arg(long)]
    pub grep: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsArgs {
    /// Resolved groups too.
    #[arg(long)]
    pub all: bool,
    /// Also list the mutes of this room (rooms with groups are always listed).
    #[arg(long)]
    pub room: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Each request scheduled for later: its id, when (UTC and the
    /// requester's zone), room, requester and what it does.
    List,
    /// Cancel a scheduled request by its id (or the start of it), audited
    /// as cancelled by you.
    Cancel {
        /// The request's id, or the start of it, as `schedule list` shows it.
        id: String,
        /// Who cancels it, in the audit record [default: cli:<your user name>].
        #[arg(long = "as", value_name = "PERSON")]
        as_person: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Transcript files or folders [default: <project>/tests/conversations].
    pub paths: Vec<PathBuf>,
}

mod alerts;
#[cfg(feature = "doors")]
mod ask;
mod audit;
mod bot;
mod door_args;
mod evaluate;
mod extra_parts;
#[cfg(feature = "doors")]
mod mcp;
mod near_miss;
pub(crate) mod operator;
mod review;
#[cfg(feature = "doors")]
mod run;
mod schedule;
mod terminal;
mod timeline;
mod train;

pub use terminal::{CONVERSATION_LOG_FILTER, DEFAULT_LOG_FILTER};

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    terminal::set_up(&cli);
    crate::limits::raise_open_file_limit();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub fn run(cli: Cli) -> Result<std::process::ExitCode> {
    let mut paths = Paths::new(&cli.global.project, cli.global.state.as_deref())
        .with_encoder(cli.global.encoder.as_deref());
    if cli.global.new_audit_key {
        paths.key_policy = opsbot_runtime::KeyPolicy::AcceptNew;
    }
    match cli.command {
        Command::Check => check(&paths),
        Command::Train(args) => train::train(&paths, &args),
        Command::Evaluate(args) => evaluate::evaluate(&paths, &args),
        Command::Import(args) => evaluate::import(&paths, &args),
        Command::Shell(args) => bot::run_shell(&paths, &args),
        #[cfg(feature = "doors")]
        Command::Run(args) => run::run_matrix(&paths, &args),
        // The operator's commands: on the store, or through the running bot.
        Command::Audit(args) => {
            let request = match &args.command {
                None => Request::Audit(args),
                Some(AuditCommand::Verify) => Request::AuditVerify {},
                Some(AuditCommand::Export(export)) => Request::AuditExport(export.clone()),
            };
            return operator::dispatch(&paths, request);
        }
        Command::TwoFactor(action) => {
            return operator::dispatch(&paths, Request::TwoFactor { action })
        }
        Command::Alerts(args) => return operator::dispatch(&paths, Request::Alerts(args)),
        Command::Schedule(command) => {
            let request = match command {
                ScheduleCommand::List => Request::ScheduleList {},
                ScheduleCommand::Cancel { id, as_person } => Request::ScheduleCancel {
                    id,
                    by: as_person.unwrap_or_else(operator::cli_user),
                },
            };
            return operator::dispatch(&paths, request);
        }
        #[cfg(feature = "doors")]
        Command::Ask(args) => return ask::ask(&paths, &args),
        #[cfg(feature = "doors")]
        Command::Mcp(args) => mcp::mcp(&paths, &args),
        #[cfg(not(feature = "doors"))]
        Command::Run(_) | Command::Ask(_) | Command::Mcp(_) => Err(without_doors()),
        Command::Test(args) => test(&paths, &args),
        Command::Review(args) => review::review(&paths, &args),
    }
    .map(|()| std::process::ExitCode::SUCCESS)
}

/// What `opsbot run`, `ask` and `mcp` say in a build without the doors.
#[cfg(not(feature = "doors"))]
fn without_doors() -> anyhow::Error {
    anyhow::anyhow!(
        "this opsbot was built without the Matrix and HTTP doors (`make run` builds the \
         terminal alone, for a quick first conversation); build them with `make build` \
         (or `cargo build --release`) and run target/release/opsbot"
    )
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn check(paths: &Paths) -> Result<()> {
    let project = app::load_project(paths)?;
    let examples: usize = project.intents.values().map(|i| i.examples.len()).sum();
    println!(
        "ok: {} intents ({} examples, {} out of scope), {} entities, {} dialogs",
        project.intents.len(),
        examples,
        project.out_of_scope.len(),
        project.entities.len(),
        project.dialogs.len()
    );
    // A stale model is served (a restart never takes the bot down), so the
    // author hears it here rather than from a bot that ignores new examples.
    let model = paths.model();
    if model.exists() {
        match opsbot_nlu::IntentModel::load(&model) {
            Ok(trained) => {
                if let Some(stale) = opsbot_nlu::Staleness::of(&project, &trained, model) {
                    println!("warning: {stale}");
                }
            }
            Err(e) => println!("warning: {e}"),
        }
    }
    Ok(())
}

fn test(paths: &Paths, args: &TestArgs) -> Result<()> {
    let project = app::load_project(paths)?;
    let nlu = app::load_nlu(&project, paths)?;
    let runtime = runtime()?;
    let targets = if args.paths.is_empty() {
        vec![paths.project.join("tests").join("conversations")]
    } else {
        args.paths.clone()
    };
    let files = transcript::collect(&targets)?;
    if files.is_empty() {
        bail!(
            "no transcript files found in {}",
            targets
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let make_bot = |state: &Path, clock: Arc<dyn opsbot_runtime::Clock>| -> Result<Runtime> {
        let store = transcript::throwaway_store(state)?;
        Ok(
            Runtime::builder(project.clone(), nlu.clone(), store, state.to_path_buf())
                .inbox(opsbot_runtime::Inbox::new(state.join("review")))
                .clock(clock)
                .door("test")
                .build(),
        )
    };
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let transcripts = transcript::load(file)?;
        for conversation in &transcripts.conversations {
            let outcome = transcript::run_conversation(conversation, &make_bot, &runtime);
            match outcome.failure {
                None => {
                    passed += 1;
                    println!("ok      {} — {}", file.display(), outcome.name);
                }
                Some(why) => {
                    failed += 1;
                    println!("FAILED  {} — {}\n    {why}", file.display(), outcome.name);
                }
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} conversation test(s) failed");
    }
    Ok(())
}
