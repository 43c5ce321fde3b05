//! `opsbot review`: the review inbox of misread messages — walked in the
//! terminal, or listed, accepted, deleted and purged by scripts — and
//! `evaluate --reviewed`, which shows whether a retrain helped.

use dialoguer::{theme::ColorfulTheme, Confirm, Input, Select};
use opsbot_runtime::{Inbox, InboxEntry};
use opsbot_spec::OUT_OF_SCOPE;

use super::train::training_threads;
use super::*;
use crate::review::session::{Answer, Session, Work};
use crate::review::{self, append::Accepted};

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List the messages waiting for review, near-duplicates grouped.
    List {
        /// One JSON array of entries (with their group) instead of text.
        #[arg(long)]
        json: bool,
        /// Also the messages already labelled.
        #[arg(long)]
        all: bool,
    },
    /// Label messages (ids or unique prefixes) as examples of an intent and
    /// write them into intents/, or mark them as nothing this bot does.
    Accept {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(
            long,
            required_unless_present = "out_of_scope",
            conflicts_with = "out_of_scope"
        )]
        intent: Option<String>,
        #[arg(long)]
        out_of_scope: bool,
        /// The example to write instead of the proposed one (one id only),
        /// values marked `[web-01](host)`.
        #[arg(long = "as")]
        example: Option<String>,
    },
    /// Forget messages without labelling them.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Forget every message sent before a date (2026-11-01), a time (RFC 3339)
    /// or an age (30d).
    Purge {
        #[arg(long)]
        before: String,
    },
}

pub(super) fn review(paths: &Paths, args: &ReviewArgs) -> Result<()> {
    let inbox = paths.inbox();
    match &args.command {
        None => interactive(paths, &inbox),
        Some(ReviewCommand::List { json, all }) => list(paths, &inbox, *json, *all),
        Some(ReviewCommand::Accept {
            ids,
            intent,
            out_of_scope,
            example,
        }) => {
            let label = match (intent, out_of_scope) {
                (_, true) => OUT_OF_SCOPE.to_string(),
                (Some(intent), false) => intent.clone(),
                (None, false) => bail!("say --intent NAME or --out-of-scope"),
            };
            accept(paths, &inbox, ids, &label, example.as_deref())
        }
        Some(ReviewCommand::Delete { ids }) => {
            let entries = inbox.entries()?;
            let ids = ids
                .iter()
                .map(|id| review::find(&entries, id).map(|e| e.id.clone()))
                .collect::<Result<Vec<_>>>()?;
            for line in review::perform(&paths.project, &inbox, Work::Remove { ids })? {
                println!("{line}");
            }
            Ok(())
        }
        Some(ReviewCommand::Purge { before }) => {
            let cut = audit::parse_since(before, chrono::Utc::now())?;
            let removed = inbox.purge_before(cut)?;
            println!(
                "purged {removed} message(s) sent before {} from {}",
                cut.format("%Y-%m-%d %H:%M UTC"),
                inbox.path().display()
            );
            Ok(())
        }
    }
}

/// The encoder for grouping, when the bot trains with one and it is there.
fn grouping_encoder(
    paths: &Paths,
    project: &opsbot_spec::Project,
) -> Option<opsbot_encoder::MiniLm> {
    if !project.settings.use_encoder {
        return None;
    }
    match app::load_encoder(paths, training_threads()) {
        Ok(encoder) => Some(encoder),
        Err(e) => {
            eprintln!("note: grouping by shared words, not by meaning: {e:#}");
            None
        }
    }
}

fn undecided(inbox: &Inbox, all: bool) -> Result<Vec<InboxEntry>> {
    Ok(inbox
        .entries()?
        .into_iter()
        .filter(|e| all || e.decision.is_none())
        .collect())
}

/// Applies the retention limits of `opsbot.yaml` first, as the bot does at start.
fn prune(inbox: &Inbox, project: &opsbot_spec::Project) -> Result<()> {
    let review = &project.settings.review;
    inbox.prune(review.keep, review.max_entries, chrono::Utc::now())?;
    Ok(())
}

fn list(paths: &Paths, inbox: &Inbox, json: bool, all: bool) -> Result<()> {
    let project = app::load_project(paths)?;
    prune(inbox, &project)?;
    let entries = undecided(inbox, all)?;
    let encoder = grouping_encoder(paths, &project);
    let groups = review::groups(
        &entries,
        encoder.as_ref().map(|e| e as &dyn SentenceEncoder),
    )?;
    if json {
        let mut out = Vec::new();
        for (g, members) in groups.iter().enumerate() {
            for &i in members {
                let mut value = serde_json::to_value(&entries[i])?;
                value["group"] = serde_json::json!(g + 1);
                value["suggestion"] = serde_json::json!(entries[i].suggestion());
                out.push(value);
            }
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("the review inbox is empty ({})", inbox.path().display());
        return Ok(());
    }
    println!(
        "{} message(s) in {} group(s) ({})",
        entries.len(),
        groups.len(),
        inbox.path().display()
    );
    for (g, members) in groups.iter().enumerate() {
        println!("\ngroup {}", g + 1);
        for &i in members {
            println!("  {}", describe(&entries[i]));
        }
    }
    println!("\nlabel with `opsbot review accept ID --intent NAME` (or --out-of-scope), or walk them with `opsbot review`");
    Ok(())
}

/// One line about an entry: id, when, why, the text, how it was read.
fn describe(entry: &InboxEntry) -> String {
    let read = match &entry.predicted {
        Some(p) => format!("read as {} ({:.2})", p.name, p.confidence),
        None => entry
            .alternatives
            .iter()
            .find(|g| g.name != OUT_OF_SCOPE && g.confidence >= 0.05)
            .map(|g| format!("nearest {} ({:.2})", g.name, g.confidence))
            .unwrap_or_default(),
    };
    let user = match (&entry.chosen, &entry.suggested) {
        (Some(chosen), _) => format!("; the user chose {chosen}"),
        (None, Some(next)) => format!("; asked next for {next}"),
        _ => String::new(),
    };
    let decided = entry
        .decision
        .as_ref()
        .map(|d| format!("; labelled {} ({})", d.label, d.written_to))
        .unwrap_or_default();
    format!(
        "{}  {}  {:<18} “{}”  {read}{user}{decided}",
        &entry.id[..entry.id.len().min(8)],
        entry.at.format("%Y-%m-%d %H:%M"),
        entry.kind.as_str(),
        audit::shown(&entry.text),
    )
}

fn accept(
    paths: &Paths,
    inbox: &Inbox,
    ids: &[String],
    label: &str,
    example: Option<&str>,
) -> Result<()> {
    let project = app::load_project(paths)?;
    // An unknown label is refused by the writer, before any file changes.
    if example.is_some() && ids.len() != 1 {
        bail!("--as gives the example for one message; name exactly one id");
    }
    let entries = inbox.entries()?;
    let mut chosen = Vec::new();
    let mut accepted = Vec::new();
    for id in ids {
        let entry = review::find(&entries, id)?;
        let mut one = Accepted::from_entry(&project, entry, label);
        if let Some(example) = example {
            opsbot_spec::annotation::parse(example).map_err(|e| {
                anyhow::anyhow!("--as `{example}`: {} at character {}", e.message, e.offset)
            })?;
            one.example = example.to_string();
        }
        chosen.push(entry.id.clone());
        accepted.push(one);
    }
    for line in review::perform(
        &paths.project,
        inbox,
        Work::Write {
            ids: chosen,
            accepted,
        },
    )? {
        println!("{line}");
    }
    println!("retrain with `opsbot train`; a running bot reloads the new model by itself");
    Ok(())
}

fn interactive(paths: &Paths, inbox: &Inbox) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("`opsbot review` asks questions in a terminal; in scripts use `opsbot review list --json` and `opsbot review accept ID --intent NAME`");
    }
    let project = app::load_project(paths)?;
    prune(inbox, &project)?;
    let entries = undecided(inbox, false)?;
    if entries.is_empty() {
        println!("the review inbox is empty ({})", inbox.path().display());
        return Ok(());
    }
    let encoder = grouping_encoder(paths, &project);
    let groups = review::groups(
        &entries,
        encoder.as_ref().map(|e| e as &dyn SentenceEncoder),
    )?;
    let mut session = Session::new(entries, groups);
    let theme = ColorfulTheme::default();
    let intents: Vec<String> = project.intents.keys().cloned().collect();
    while let Some(group) = session.current() {
        let (at, of) = session.progress();
        println!("\ngroup {at} of {of}:");
        for entry in &group {
            println!("  {}", describe(entry));
        }
        let suggestion = session.suggestion();
        let mut items: Vec<String> = Vec::new();
        if let Some(s) = &suggestion {
            items.push(format!("label as {s}"));
        }
        items.extend(
            [
                "label as another intent…",
                "out of scope (nothing this bot does)",
                "skip",
                "delete",
                "quit",
            ]
            .map(String::from),
        );
        let picked = Select::with_theme(&theme)
            .with_prompt("what were these?")
            .items(&items)
            .default(0)
            .interact()?;
        let offset = usize::from(suggestion.is_none());
        let answer = match picked + offset {
            0 => label_answer(
                &theme,
                &session,
                &project,
                suggestion.clone().expect("offered"),
            )?,
            1 => {
                // Starts on the likeliest intent the group was read as.
                let likeliest = session.likeliest_intents();
                let start = likeliest
                    .iter()
                    .find_map(|name| intents.iter().position(|i| i == name))
                    .unwrap_or(0);
                let which = Select::with_theme(&theme)
                    .with_prompt("which intent?")
                    .items(&intents)
                    .default(start)
                    .interact()?;
                label_answer(&theme, &session, &project, intents[which].clone())?
            }
            2 => Answer::Label {
                label: OUT_OF_SCOPE.into(),
                examples: None,
            },
            3 => Answer::Skip,
            4 => Answer::Delete,
            _ => Answer::Quit,
        };
        let work = session.answer(&project, answer);
        match review::perform(&paths.project, inbox, work) {
            Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
            Err(e) => println!("  not written: {e:#}"),
        }
    }
    let tally = &session.tally;
    println!(
        "\nreviewed: {} labelled, {} skipped, {} deleted",
        tally.labelled, tally.skipped, tally.deleted
    );
    if tally.labelled > 0
        && Confirm::with_theme(&theme)
            .with_prompt("retrain the model now? (a running bot reloads it by itself)")
            .default(true)
            .interact()?
    {
        train::train(
            paths,
            &TrainArgs {
                if_stale: false,
                fine_tune: false,
                fine_tune_epochs: 3,
                force: false,
                full: false,
            },
        )?;
    }
    Ok(())
}

/// The examples for `label`, each proposed and editable.
fn label_answer(
    theme: &ColorfulTheme,
    session: &Session,
    project: &opsbot_spec::Project,
    label: String,
) -> Result<Answer> {
    let proposed = session.proposals(project, &label);
    println!("  as examples of {label}:");
    for example in &proposed {
        println!("    - {example}");
    }
    let edit = Confirm::with_theme(theme)
        .with_prompt("edit the examples (values are marked [web-01](host))?")
        .default(false)
        .interact()?;
    if !edit {
        return Ok(Answer::Label {
            label,
            examples: None,
        });
    }
    let mut examples = Vec::new();
    for example in proposed {
        let edited: String = Input::with_theme(theme)
            .with_prompt("example")
            .with_initial_text(example)
            .validate_with(|text: &String| {
                opsbot_spec::annotation::parse(text)
                    .map(|_| ())
                    .map_err(|e| format!("{} at character {}", e.message, e.offset))
            })
            .interact_text()?;
        examples.push(edited);
    }
    Ok(Answer::Label {
        label,
        examples: Some(examples),
    })
}

/// `evaluate --reviewed`: on the labelled messages, the model that read them
/// (its reading is kept with each entry) beside the model trained now, read
/// as the live bot reads (its threshold, the ambiguity question).
pub(super) fn evaluate_reviewed(paths: &Paths) -> Result<()> {
    let project = app::load_project(paths)?;
    let reviewed: Vec<InboxEntry> = paths
        .inbox()
        .entries()?
        .into_iter()
        .filter(|e| e.decision.is_some())
        .collect();
    if reviewed.is_empty() {
        println!(
            "no reviewed messages yet ({}); label some with `opsbot review`",
            paths.inbox().path().display()
        );
        return Ok(());
    }
    let nlu = app::load_nlu(&project, paths)?;
    let (mut before, mut after) = (0usize, 0usize);
    for entry in &reviewed {
        let label = &entry.decision.as_ref().expect("filtered").label;
        let old = entry
            .predicted
            .as_ref()
            .map_or(OUT_OF_SCOPE, |p| p.name.as_str());
        before += usize::from(old == label);
        let understanding = nlu.understand(&entry.text);
        let new = match (&understanding.intent, understanding.ambiguous.is_empty()) {
            (Some(intent), true) => intent.name.as_str(),
            _ => OUT_OF_SCOPE,
        };
        after += usize::from(new == label);
    }
    let percent = |n: usize| 100.0 * n as f64 / reviewed.len() as f64;
    println!(
        "{} reviewed messages: {:.1} % right when they were read, {:.1} % with the model trained {}",
        reviewed.len(),
        percent(before),
        percent(after),
        nlu.model().meta.trained_at
    );
    println!("(once retrained on them they are training examples; the cross-validation below shows the rest did not get worse)\n");
    Ok(())
}
