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
use opsbot_nlu::evaluate::{cross_validate, evaluate_model};
use opsbot_nlu::{
    EntityExtractor, IntentModel, NluConfig, SentenceEncoder, TrainOptions, TrainProgress,
    TrainingData,
};
use opsbot_runtime::{AuditRecord, Bot, Store};

use crate::adapters::shell::{self, ShellOptions};
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
    /// Step-up two-factor authentication (TOTP): enrol or remove users.
    #[command(name = "2fa", subcommand)]
    TwoFactor(TwoFactorCommand),
    /// Run conversation transcripts against the trained bot with a throwaway store.
    Test(TestArgs),
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

#[derive(Debug, Subcommand)]
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

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; name any record edited, removed or reordered.
    Verify,
    /// Write a timeline for a postmortem or learning review.
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ExportFormat,
    /// Only records since this time: an RFC 3339 time, a date (2026-11-24) or an age (`24h`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub room: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
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

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Transcript files or folders [default: <project>/tests/conversations].
    pub paths: Vec<PathBuf>,
}

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                // Key backup is not configured for bots; matrix-sdk would say so every sync.
                "warn,matrix_sdk_crypto::backups=error".into()
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub fn run(cli: Cli) -> Result<std::process::ExitCode> {
    let paths = Paths::new(&cli.global.project, cli.global.state.as_deref());
    match cli.command {
        Command::Check => check(&paths),
        Command::Train(args) => train(&paths, &args),
        Command::Evaluate(args) => evaluate(&paths, &args),
        Command::Import(args) => import(&paths, &args),
        Command::Shell(args) => run_shell(&paths, &args),
        Command::Run(args) => run_matrix(&paths, &args),
        Command::Audit(args) => match &args.command {
            None => audit(&paths, &args),
            Some(AuditCommand::Verify) => audit_verify(&paths),
            Some(AuditCommand::Export(export)) => audit_export(&paths, export),
        },
        Command::TwoFactor(command) => two_factor(&paths, &command),
        Command::Test(args) => test(&paths, &args),
    }
    .map(|()| std::process::ExitCode::SUCCESS)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
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
    Ok(())
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn train(paths: &Paths, args: &TrainArgs) -> Result<()> {
    let started = Instant::now();
    let project = app::load_project(paths)?;
    if args.if_stale {
        match app::load_nlu(&project, paths) {
            Ok(_) => {
                println!("the model at {} is up to date", paths.model().display());
                return Ok(());
            }
            Err(why) => println!("training: {why:#}"),
        }
    }
    let data = TrainingData::from_project(&project);
    let config = NluConfig::default();
    if args.fine_tune && !project.settings.use_encoder {
        bail!("--fine-tune needs the sentence encoder, but opsbot.yaml says `encoder: none`");
    }
    let mut encoder = if project.settings.use_encoder {
        Some(app::load_encoder(paths, training_threads())?)
    } else {
        None
    };
    let mut encoder_dir = opsbot_encoder::MODEL_DIR
        .trim_start_matches("models/")
        .to_string();
    if let (true, Some(base)) = (args.fine_tune, &encoder) {
        let classes = data.classes();
        let labels: Vec<usize> = data
            .labels
            .iter()
            .map(|l| classes.binary_search(l).expect("label among classes"))
            .collect();
        let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
        let tune = opsbot_encoder::FineTuneConfig {
            epochs: args.fine_tune_epochs,
            ..Default::default()
        };
        let mut steps: Option<ProgressBar> = None;
        let report = base.fine_tune(&texts, &labels, classes.len(), &tune, |done, total| {
            steps
                .get_or_insert_with(|| bar(total as u64, "fine-tune"))
                .set_position(done as u64)
        })?;
        if let Some(bar) = steps {
            bar.finish_and_clear();
        }
        println!(
            "fine-tuned the encoder: {} steps, loss {:.3} → {:.3}",
            report.steps, report.first_epoch_loss, report.last_epoch_loss
        );
        base.save(&paths.encoder(), &paths.fine_tuned_encoder())?;
        encoder = Some(opsbot_encoder::MiniLm::load(&paths.fine_tuned_encoder())?);
        encoder_dir = app::FINE_TUNED_DIR.to_string();
    }
    let cached = encoder
        .as_ref()
        .map(|e| CachedEncoder::new(e, EmbeddingCache::open(&paths.embedding_cache())));
    let model = opsbot_nlu::train(
        &data,
        &EntityExtractor::new(&project),
        &config,
        &project.training_hash,
        TrainOptions {
            encoder: cached.as_ref().map(|c| c as &dyn SentenceEncoder),
            validation: None,
        },
        progress_bars(),
    )?;
    let mut model = model;
    if model.meta.encoder.is_some() {
        model.meta.encoder_dir = Some(encoder_dir);
    }
    if let Err(reason) = model.check() {
        bail!("the trained model is unusable ({reason}); the embedding cache at {} may be damaged: delete it and train again. The old model was kept", paths.embedding_cache().display());
    }
    let previous = opsbot_nlu::IntentModel::load_meta(&paths.model()).ok();
    if let (Some(why), false) = (
        crate::train_guard::collapse(previous.as_ref(), &model.meta),
        args.force,
    ) {
        bail!("{why}");
    }
    let mut words: Option<ProgressBar> = None;
    let tagger = opsbot_nlu::train_for_project(
        &project,
        cached.as_ref().map(|c| c as &dyn SentenceEncoder),
        |done, total| {
            let bar = words.get_or_insert_with(|| bar(total as u64, "word vectors"));
            bar.set_position(done as u64);
            if done >= total {
                bar.finish_and_clear();
            }
        },
    )?;
    // The tagger first: a running bot reloads when the intent model changes,
    // and must then find the tagger of the same data.
    let tagger_path = paths.tagger();
    match &tagger {
        Some(tagger) => tagger.save(&tagger_path)?,
        None if tagger_path.exists() => std::fs::remove_file(&tagger_path)
            .with_context(|| format!("removing the old {}", tagger_path.display()))?,
        None => {}
    }
    let path = paths.model();
    model.save(&path)?;
    print_training_summary(&model, started.elapsed().as_secs_f64(), &path);
    match &tagger {
        Some(tagger) => println!(
            "  slot tagger for {} → {}",
            opsbot_spec::join_or(
                &tagger
                    .entities()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            ),
            tagger_path.display()
        ),
        None => println!("  no annotated examples, so no slot tagger"),
    }
    Ok(())
}

/// Threads for encoding training data: all cores (batches gain from them).
fn training_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Progress bars for encoding and epochs, drawn only on a terminal.
fn progress_bars() -> impl FnMut(TrainProgress) {
    let mut encoding: Option<ProgressBar> = None;
    let mut epochs: Option<ProgressBar> = None;
    move |p| match p {
        TrainProgress::Encoding { done, total } => {
            let bar = encoding.get_or_insert_with(|| bar(total as u64, "encoding"));
            bar.set_position(done as u64);
            if done >= total {
                bar.finish_and_clear();
            }
        }
        TrainProgress::Epoch { done, total } => {
            let bar = epochs.get_or_insert_with(|| bar(total as u64, "epochs"));
            if bar.length() != Some(total as u64) {
                bar.set_length(total as u64);
            }
            bar.set_position(done as u64);
        }
    }
}

fn print_training_summary(model: &IntentModel, seconds: f64, path: &Path) {
    let meta = &model.meta;
    let metrics = &meta.metrics;
    println!(
        "trained on {} examples of {} intents{} in {:.2}s → {}",
        meta.examples,
        meta.intents,
        if model.classes.iter().any(|c| c == opsbot_spec::OUT_OF_SCOPE) {
            " and out of scope"
        } else {
            ""
        },
        seconds,
        path.display()
    );
    println!(
        "  features: {} n-grams{}; {} sentences embedded",
        model.featurizer.dimension(),
        meta.encoder
            .as_ref()
            .map(|e| format!(" + {e} embedding"))
            .unwrap_or_default(),
        metrics.encoded,
    );
    if metrics.validation_examples > 0 {
        println!(
            "  held out {} examples: in-scope accuracy {:.1}%{}; best epoch {} of {}",
            metrics.validation_examples,
            metrics.in_scope_accuracy * 100.0,
            metrics
                .out_of_scope_recall
                .map(|r| format!(", out-of-scope recall {:.1}%", r * 100.0))
                .unwrap_or_default(),
            metrics.best_epoch,
            metrics.epochs_run,
        );
    }
    println!(
        "  out-of-scope threshold {:.2} ({}), temperature {:.2}",
        meta.calibration.threshold, meta.calibration.threshold_rule, meta.calibration.temperature
    );
}

fn import(paths: &Paths, args: &ImportArgs) -> Result<()> {
    let data = opsbot_nlu::import::read_file(&args.file)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| paths.project.join("intents").join("imported.yaml"));
    if out.exists() && !args.force {
        bail!("{} exists; pass --force to replace it", out.display());
    }
    let mut intents: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (text, label) in data.texts.iter().zip(&data.labels) {
        intents.entry(label).or_default().push(text);
    }
    let mut yaml = format!(
        "# Imported from {} by `opsbot import`. Entity annotations were dropped:\n# mark values as [value](entity) where the dialogs need them.\nintents:\n",
        args.file.display()
    );
    for (intent, examples) in &intents {
        yaml.push_str(&format!("  {intent}:\n    examples:\n"));
        for example in examples {
            yaml.push_str(&format!("      - {}\n", serde_json::to_string(example)?));
        }
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, yaml).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "imported {} examples of {} intents into {}; run `opsbot check` and add dialogs for new intents",
        data.len(),
        intents.len(),
        out.display()
    );
    Ok(())
}

fn evaluate(paths: &Paths, args: &EvaluateArgs) -> Result<()> {
    let project = app::load_project(paths)?;
    let extractor = EntityExtractor::new(&project);
    let mut slots: Option<opsbot_nlu::SlotScores> = None;
    let evaluation = match &args.test {
        Some(file) => {
            // A held-out test file against the trained model.
            let test = opsbot_nlu::import::read_file(file)?;
            let model = IntentModel::load(&paths.model())?;
            let encoder = match model.meta.encoder {
                Some(_) => Some(app::load_encoder(paths, training_threads())?),
                None => None,
            };
            let evaluation = evaluate_model(
                &model,
                &test,
                &extractor,
                encoder.as_ref().map(|e| e as &dyn SentenceEncoder),
            )?;
            println!(
                "{} examples from {} against {}",
                evaluation.examples,
                file.display(),
                paths.model().display()
            );
            evaluation
        }
        None => {
            let data = TrainingData::from_project(&project);
            let encoder = if project.settings.use_encoder {
                Some(app::load_encoder(paths, training_threads())?)
            } else {
                None
            };
            let cached = encoder
                .as_ref()
                .map(|e| CachedEncoder::new(e, EmbeddingCache::open(&paths.embedding_cache())));
            let progress = bar(args.folds as u64, "folds");
            slots = Some(opsbot_nlu::tagger::cross_validate_slots(
                &project,
                &extractor,
                cached.as_ref().map(|c| c as &dyn SentenceEncoder),
                args.folds,
                args.seed,
            )?);
            let evaluation = cross_validate(
                &data,
                &extractor,
                &NluConfig::default(),
                args.folds,
                args.seed,
                cached.as_ref().map(|c| c as &dyn SentenceEncoder),
                |k| progress.set_position(k as u64),
            )?;
            progress.finish_and_clear();
            println!(
                "{}-fold cross-validation on {} examples (seed {})",
                evaluation.folds, evaluation.examples, args.seed
            );
            evaluation
        }
    };
    print_evaluation(&evaluation);
    let slot_report = slots.as_ref().map(print_slots);
    if let Some(json) = &args.json {
        let mut value = serde_json::to_value(&evaluation)?;
        if let (Some(object), Some(report)) = (value.as_object_mut(), slot_report) {
            object.insert("slots".into(), report);
        }
        std::fs::write(json, serde_json::to_vec_pretty(&value)?)
            .with_context(|| format!("writing {}", json.display()))?;
        println!("\nwrote {}", json.display());
    }
    if let Some(image) = &args.confusion {
        crate::confusion::write_svg(&evaluation.confusion, image)
            .with_context(|| format!("writing {}", image.display()))?;
        println!("wrote {}", image.display());
    }
    Ok(())
}

/// Per-entity slot figures (exact span match); returns them for the JSON.
fn print_slots(scores: &opsbot_nlu::SlotScores) -> serde_json::Value {
    let (p, r, f) = scores.micro();
    println!(
        "\nslots (exact span and entity): precision {:.1}%, recall {:.1}%, F1 {:.1}%",
        p * 100.0,
        r * 100.0,
        f * 100.0
    );
    let mut per_entity = serde_json::Map::new();
    for (entity, &counts) in &scores.counts {
        let (p, r, f) = opsbot_nlu::SlotScores::prf(counts);
        println!(
            "  {entity:<18} precision {:>5.1}%  recall {:>5.1}%  F1 {:>5.1}%  ({} annotated)",
            p * 100.0,
            r * 100.0,
            f * 100.0,
            counts.0 + counts.2
        );
        per_entity.insert(
            entity.clone(),
            serde_json::json!({"precision": p, "recall": r, "f1": f, "support": counts.0 + counts.2}),
        );
    }
    serde_json::json!({"precision": p, "recall": r, "f1": f, "entities": per_entity})
}

fn print_evaluation(evaluation: &opsbot_nlu::evaluate::Evaluation) {
    println!("accuracy           {:.1}%", evaluation.accuracy * 100.0);
    println!(
        "in-scope accuracy  {:.1}%",
        evaluation.in_scope_accuracy * 100.0
    );
    if let Some(oos) = &evaluation.out_of_scope {
        println!(
            "out of scope       precision {:.1}%, recall {:.1}% ({} examples)",
            oos.precision * 100.0,
            oos.recall * 100.0,
            oos.support
        );
    }
    println!("macro-F1           {:.1}%", evaluation.macro_f1 * 100.0);
    println!("threshold          {:.2}", evaluation.threshold);
    if evaluation.folds > 0 {
        println!(
            "training           {:.3}s per fold",
            evaluation.mean_training_seconds
        );
    }
    println!(
        "\n{:<24} {:>9} {:>7} {:>6} {:>8}",
        "intent", "precision", "recall", "F1", "examples"
    );
    for c in &evaluation.per_class {
        println!(
            "{:<24} {:>8.1}% {:>6.1}% {:>5.1}% {:>8}",
            c.class,
            c.precision * 100.0,
            c.recall * 100.0,
            c.f1 * 100.0,
            c.support
        );
    }
    if !evaluation.confused_pairs.is_empty() {
        println!("\nmost confused (expected → predicted):");
        for (expected, predicted, n) in evaluation.confused_pairs.iter().take(5) {
            println!("  {expected} → {predicted}: {n}");
        }
        println!("\nmisclassified:");
        const SHOWN: usize = 30;
        for miss in evaluation.misses.iter().take(SHOWN) {
            println!(
                "  {:?}: {} → {} ({:.2})",
                miss.text, miss.expected, miss.predicted, miss.confidence
            );
        }
        if evaluation.misses.len() > SHOWN {
            println!(
                "  … and {} more (all of them in --json)",
                evaluation.misses.len() - SHOWN
            );
        }
    }
}

fn run_matrix(paths: &Paths, args: &RunArgs) -> Result<()> {
    let config = opsbot_matrix::MatrixConfig::load(args.config.as_deref())?;
    let admins = config.clone();
    let bot = Arc::new(
        app::open_bot(paths)?
            .with_dry_run(args.dry_run)
            .with_action_limit(config.max_concurrent_actions)
            .with_reloader(
                crate::refresh::reloader(paths),
                Arc::new(move |u: &str| admins.is_admin(u)),
            ),
    );
    let runtime = runtime()?;
    runtime.spawn(crate::refresh::watch(bot.clone(), paths.clone()));
    runtime.block_on(async {
        let shutdown = async {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
        };
        opsbot_matrix::run(config, bot, shutdown).await
    })?;
    Ok(())
}

fn run_shell(paths: &Paths, args: &ShellArgs) -> Result<()> {
    let user = args
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "you".into());
    // The person at the terminal runs the bot, so they may reload its model.
    let operator = user.clone();
    let bot = Arc::new(
        app::open_bot(paths)?
            .with_dry_run(args.dry_run)
            .with_reloader(
                crate::refresh::reloader(paths),
                Arc::new(move |u: &str| u == operator),
            ),
    );
    let runtime = runtime()?;
    runtime.spawn(crate::refresh::watch(bot.clone(), paths.clone()));
    let options = ShellOptions {
        user,
        room: args.room.clone(),
        interactive: std::io::stdin().is_terminal(),
    };
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout();
    shell::run(&bot, &runtime, &options, stdin, &mut stdout)
}

/// The store, or `None` (after saying so) when nothing was ever recorded.
fn existing_store(paths: &Paths) -> Result<Option<Store>> {
    let store_path = paths.store();
    if !store_path.exists() {
        println!(
            "no audit records yet ({} does not exist)",
            store_path.display()
        );
        return Ok(None);
    }
    Ok(Some(Store::open(&store_path)?))
}

fn audit_verify(paths: &Paths) -> Result<()> {
    let Some(store) = existing_store(paths)? else {
        return Ok(());
    };
    let verification = store.verify_audit()?;
    for note in &verification.notes {
        println!("note: {note}");
    }
    if verification.problems.is_empty() {
        println!(
            "ok: {} audit records, keyed hash chain intact and matching its checkpoint copy",
            verification.records
        );
        return Ok(());
    }
    for problem in &verification.problems {
        println!("{problem}");
    }
    bail!(
        "the audit trail does not verify: {} problem(s) in {} records",
        verification.problems.len(),
        verification.records
    )
}

fn parse_since(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    let age = humantime::parse_duration(text).with_context(|| {
        format!("`{text}` is not a time, a date (2026-11-24) or an age (24h, 7d)")
    })?;
    Ok(now - chrono::Duration::from_std(age)?)
}

fn audit_export(paths: &Paths, args: &ExportArgs) -> Result<()> {
    let Some(store) = existing_store(paths)? else {
        return Ok(());
    };
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, chrono::Utc::now()))
        .transpose()?;
    let mut records = Vec::new();
    for record in store.audit_oldest_first() {
        let record = record?;
        if since.is_some_and(|s| record.time < s)
            || args.room.as_ref().is_some_and(|r| record.room != *r)
        {
            continue;
        }
        records.push(record);
    }
    match args.format {
        ExportFormat::Jsonl => {
            for record in &records {
                println!("{}", serde_json::to_string(record)?);
            }
        }
        ExportFormat::Markdown => print!("{}", markdown_timeline(&records)),
    }
    Ok(())
}

fn markdown_timeline(records: &[AuditRecord]) -> String {
    let mut out = String::from("# opsbot timeline\n\n");
    match (records.first(), records.last()) {
        (Some(first), Some(last)) => out.push_str(&format!(
            "{} records from {} to {}.\n\n",
            records.len(),
            first.time.format("%Y-%m-%d %H:%M:%S UTC"),
            last.time.format("%Y-%m-%d %H:%M:%S UTC")
        )),
        _ => out.push_str("No records match.\n\n"),
    }
    out.push_str("| # | time (UTC) | room | who | request | outcome | details |\n|---|---|---|---|---|---|---|\n");
    let cell = |s: &str| shown(&s.replace('|', "\\|").replace('\n', " "));
    for r in records {
        let mut details = Vec::new();
        if let Some(c) = &r.confirmed_by {
            details.push(format!("confirmed by {c}"));
        }
        if let Some(a) = &r.approved_by {
            details.push(format!("approved by {a}"));
        }
        if r.two_factor {
            details.push("2FA".into());
        }
        if let Some(command) = &r.command {
            details.push(format!("`{command}`"));
        }
        if let Some(code) = r.exit_code {
            details.push(format!("exit {code}"));
        }
        if let Some(reason) = &r.reason {
            details.push(reason.clone());
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} {} | {} | {} |\n",
            r.id,
            r.time.format("%Y-%m-%d %H:%M:%S"),
            cell(&r.room),
            cell(&r.user),
            cell(&r.intent),
            cell(&r.slot_summary()),
            r.outcome.as_str(),
            cell(&details.join("; "))
        ));
    }
    out
}

fn two_factor(paths: &Paths, command: &TwoFactorCommand) -> Result<()> {
    let project = app::load_project(paths)?;
    let store = Store::open(&paths.store())?;
    match command {
        TwoFactorCommand::Enroll { user, force } => {
            if store.totp(user)?.is_some() && !force {
                bail!("{user} is already enrolled; use --force to replace the secret");
            }
            let record = opsbot_runtime::TotpRecord::generate(chrono::Utc::now());
            store.put_totp(user, &record)?;
            println!(
                "Enrolled {user}. Add this to an authenticator app now; it is not shown again:"
            );
            println!("{}", record.uri(&project.settings.name, user));
        }
        TwoFactorCommand::Remove { user } => {
            if !store.remove_totp(user)? {
                bail!("{user} is not enrolled");
            }
            println!("removed {user}'s two-factor secret");
        }
    }
    Ok(())
}

fn audit(paths: &Paths, args: &AuditArgs) -> Result<()> {
    let Some(store) = existing_store(paths)? else {
        return Ok(());
    };
    let mut shown = 0;
    for record in store.audit_newest_first() {
        let record = record?;
        let keep = args.user.as_ref().is_none_or(|u| record.user == *u)
            && args.intent.as_ref().is_none_or(|i| record.intent == *i)
            && args.grep.as_ref().is_none_or(|g| record.mentions(g));
        if !keep {
            continue;
        }
        if args.json {
            println!("{}", serde_json::to_string(&record)?);
        } else {
            print_record(&record);
        }
        shown += 1;
        if shown == args.limit {
            break;
        }
    }
    if shown == 0 && !args.json {
        println!("no matching audit records");
    }
    Ok(())
}

fn print_record(r: &AuditRecord) {
    let result = match (r.exit_code, r.duration_ms) {
        (Some(code), Some(ms)) => format!("  exit {code} in {:.1}s", ms as f64 / 1000.0),
        _ => String::new(),
    };
    println!(
        "#{} {}  {}/{}  {}  {}{}",
        r.id,
        r.time.format("%Y-%m-%d %H:%M:%S UTC"),
        shown(&r.room),
        shown(&r.user),
        shown(&r.intent),
        r.outcome.as_str(),
        result
    );
    let said: Vec<String> = r.messages.iter().map(|m| format!("{m:?}")).collect();
    let mut confirmed = r
        .confirmed_by
        .as_deref()
        .map(|c| format!(", confirmed by {}", shown(c)))
        .unwrap_or_default();
    if let Some(approver) = &r.approved_by {
        confirmed.push_str(&format!(", approved by {}", shown(approver)));
    }
    if r.two_factor {
        confirmed.push_str(", with 2FA");
    }
    if r.dry_run {
        confirmed.push_str(", dry run");
    }
    println!(
        "    said: {} (confidence {:.2}{confirmed})",
        said.join(" → "),
        r.confidence
    );
    if !r.slots.is_empty() {
        let slots: Vec<String> = r
            .slots
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={} ({})",
                    shown(&v.value),
                    serde_json::to_value(v.origin)
                        .ok()
                        .and_then(|o| o.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect();
        println!("    slots: {}", slots.join(", "));
    }
    if let Some(command) = &r.command {
        let verb = if r.outcome == opsbot_runtime::AuditOutcome::NotStarted {
            "tried"
        } else {
            "ran"
        };
        println!("    {verb}: {}", shown(command));
    }
    if let Some(reason) = &r.reason {
        println!("    why: {}", shown(reason));
    }
    if r.access != "allowed" {
        println!("    access: {}", shown(&r.access));
    }
    if let Some(output) = r.output.as_deref().filter(|o| !o.trim().is_empty()) {
        for (i, line) in output.trim_end().lines().enumerate() {
            println!(
                "    {}{}",
                if i == 0 { "output: " } else { "        " },
                shown(line)
            );
        }
    }
}

/// Text from users or actions as it may be printed on a terminal: control
/// characters (ESC, CR, …) and bidirectional overrides are written as escapes,
/// so a crafted user name or output cannot fake or hide audit lines.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
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
    let make_bot = |state: &Path| -> Result<Bot> {
        let store = transcript::throwaway_store(state)?;
        Ok(Bot::new(
            project.clone(),
            nlu.clone(),
            store,
            state.to_path_buf(),
        ))
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
