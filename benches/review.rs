//! `make bench`: does one review round make the bot better on messages it has
//! not seen? A simulation on CLINC150, written to `target/bench/review.md`.
//!
//! For each seed: a bot of 20 CLINC150 intents (reply-only dialogs), 5 examples
//! each and 20 out-of-scope ones, is trained; 200 held-out paraphrases of those
//! intents go through the running bot (the real runtime and model, one person
//! each). The simulated person answers as a user would: when the bot misreads
//! them they say "that's not what I meant" and pick the right intent if it is
//! offered; asked "did you mean …?", they name it. A scripted reviewer then
//! labels every message of the review inbox with its gold intent (through the
//! same code as `opsbot review accept`), the bot is retrained, and the next 200
//! held-out paraphrases are read by the model before and after the round, as
//! the live bot reads them (threshold and ambiguity question included).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use opsbot::app::{self, Paths};
use opsbot::review::{self, append::Accepted, session::Work};
use opsbot_runtime::{ConversationKey, Inbox, MemoryStore, Runtime};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};

const INTENTS: usize = 20;
const SHOTS: usize = 5;
const ROUND: usize = 200;
const SEEDS: [u64; 3] = [0, 1, 2];

fn data_dir(root: &Path) -> PathBuf {
    std::env::var_os("OPSBOT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"))
}

/// Writes the bot's project: intents, reply-only dialogs, settings, the encoder link.
fn write_bot(dir: &Path, root: &Path, train: &BTreeMap<String, Vec<String>>, oos: &[String]) {
    let quote = |t: &str| serde_json::to_string(t).unwrap();
    let mut intents = String::from("intents:\n");
    let mut dialogs = String::from("dialogs:\n");
    for (intent, examples) in train {
        intents.push_str(&format!("  {intent}:\n    examples:\n"));
        for e in examples {
            intents.push_str(&format!("      - {}\n", quote(e)));
        }
        let words = intent.replace('_', " ");
        dialogs.push_str(&format!(
            "  {intent}:\n    description: answer about {words}\n    reply: \"intent {intent}\"\n"
        ));
    }
    intents.push_str("out_of_scope:\n");
    for e in oos {
        intents.push_str(&format!("  - {}\n", quote(e)));
    }
    for (name, text) in [
        ("intents/clinc.yaml", intents),
        ("dialogs/clinc.yaml", dialogs),
        ("opsbot.yaml", "name: clinc-bot\n".to_string()),
    ] {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::os::unix::fs::symlink(
        root.join(opsbot_encoder::MODEL_DIR),
        dir.join(opsbot_encoder::MODEL_DIR),
    )
    .unwrap();
}

fn train(paths: &Paths) -> f64 {
    let started = Instant::now();
    let cli = opsbot::cli::Cli::parse_from([
        "opsbot",
        "--project",
        paths.project.to_str().unwrap(),
        "--state",
        paths.state.to_str().unwrap(),
        "train",
    ]);
    opsbot::cli::run(cli).expect("training");
    started.elapsed().as_secs_f64()
}

/// The live bot's reading of each message: right when it names the gold
/// intent without asking.
fn accuracy(paths: &Paths, messages: &[(String, String)]) -> f64 {
    let project = app::load_project(paths).unwrap();
    let nlu = app::load_nlu(&project, paths).unwrap();
    let right = messages
        .iter()
        .filter(|(text, gold)| {
            let u = nlu.understand(text);
            u.ambiguous.is_empty() && u.intent.as_ref().is_some_and(|i| &i.name == gold)
        })
        .count();
    100.0 * right as f64 / messages.len() as f64
}

/// How the simulated person answers a question listing options: the gold
/// intent's number (or its words), else "none of these".
fn answer_options(reply: &str, gold: &str) -> String {
    let words = gold.replace('_', " ");
    for line in reply.lines() {
        if let Some((number, rest)) = line.split_once(". ") {
            if rest == format!("answer about {words}") {
                return number.to_string();
            }
        }
    }
    if reply.contains(&format!("answer about {words}")) {
        return words;
    }
    "none of these".into()
}

async fn say(bot: &Runtime, key: &ConversationKey, line: &str) -> String {
    let mut replies = Vec::new();
    bot.handle(key, line, &mut |r: String| replies.push(r))
        .await
        .expect("handled");
    replies.join("\n")
}

/// Runs the first round through the bot; returns what happened to each message.
async fn converse(bot: &Runtime, messages: &[(String, String)]) -> BTreeMap<&'static str, usize> {
    let mut tally: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (i, (text, gold)) in messages.iter().enumerate() {
        let key = ConversationKey::new("!bench:localhost", format!("@person{i}:localhost"));
        let reply = say(bot, &key, text).await;
        let right = format!("intent {gold}");
        let outcome = if reply == right {
            "understood"
        } else if reply.starts_with("Did you mean") {
            say(bot, &key, &answer_options(&reply, gold)).await;
            "asked which"
        } else if reply.starts_with("Sorry, I did not understand") {
            "not understood"
        } else if reply.starts_with("There is nothing waiting for a yes")
            || reply.starts_with("Okay. There is nothing to cancel")
        {
            // CLINC150's `yes`/`no` intents: the bot's own confirmation words
            // come first, so such a message is no reading to learn from.
            "taken as yes/no"
        } else if reply.starts_with("That message contains shell syntax") {
            // A `;` in a question: refused whole, by design, so no reading either.
            "refused: shell syntax"
        } else {
            let asked = say(bot, &key, "that's not what I meant").await;
            if asked.contains("none of these") {
                say(bot, &key, &answer_options(&asked, gold)).await;
            }
            "misread, flagged"
        };
        *tally.entry(outcome).or_default() += 1;
    }
    tally
}

fn simulate(root: &Path, seed: u64) -> Value {
    let clinc: Value = serde_json::from_slice(
        &std::fs::read(data_dir(root).join("clinc150/data_full.json"))
            .expect("CLINC150 (set OPSBOT_BENCH_DATA)"),
    )
    .unwrap();
    let pairs = |split: &str| -> Vec<(String, String)> {
        clinc[split]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut names: Vec<String> = pairs("train").into_iter().map(|(_, l)| l).collect();
    names.sort();
    names.dedup();
    names.shuffle(&mut rng);
    let chosen: Vec<String> = names.into_iter().take(INTENTS).collect();
    let mut train_set: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pool = pairs("train");
    pool.shuffle(&mut rng);
    for (text, label) in pool {
        let examples = train_set.entry(label.clone()).or_default();
        if chosen.contains(&label) && examples.len() < SHOTS {
            examples.push(text);
        }
    }
    train_set.retain(|_, e| !e.is_empty());
    let mut oos: Vec<String> = pairs("oos_train").into_iter().map(|(t, _)| t).collect();
    oos.shuffle(&mut rng);
    oos.truncate(20);
    let mut held_out: Vec<(String, String)> = pairs("test")
        .into_iter()
        .chain(pairs("val"))
        .filter(|(_, l)| chosen.contains(l))
        .collect();
    held_out.shuffle(&mut rng);
    let (first, next) = (&held_out[..ROUND], &held_out[ROUND..2 * ROUND]);

    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path(), Some(&dir.path().join("state")));
    write_bot(dir.path(), root, &train_set, &oos);
    let trained_in = train(&paths);
    let before = accuracy(&paths, next);
    let first_before = accuracy(&paths, first);

    let project = app::load_project(&paths).unwrap();
    let nlu = app::load_nlu(&project, &paths).unwrap();
    let inbox = Inbox::new(dir.path().join("state/review"));
    let bot = Runtime::builder(project, nlu, MemoryStore::new(), paths.state.clone())
        .inbox(inbox.clone())
        .build();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tally = runtime.block_on(converse(&bot, first));

    // The scripted reviewer: every inbox message gets its gold intent.
    let gold: BTreeMap<&str, &str> = first
        .iter()
        .map(|(t, g)| (t.as_str(), g.as_str()))
        .collect();
    let entries = inbox.entries().unwrap();
    let project = app::load_project(&paths).unwrap();
    let (mut ids, mut accepted) = (Vec::new(), Vec::new());
    for entry in &entries {
        if let Some(label) = gold.get(entry.text.as_str()) {
            ids.push(entry.id.clone());
            accepted.push(Accepted::from_entry(&project, entry, label));
        }
    }
    let labelled = ids.len();
    review::perform(dir.path(), &inbox, Work::Write { ids, accepted }).expect("examples written");
    let retrained_in = train(&paths);
    let after = accuracy(&paths, next);
    let first_after = accuracy(&paths, first);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for entry in &entries {
        *kinds.entry(entry.kind.as_str().to_string()).or_default() += 1;
    }
    json!({
        "seed": seed,
        "intents": train_set.len(),
        "examples_per_intent": SHOTS,
        "first_round": tally,
        "inbox": kinds,
        "labelled": labelled,
        "next_200_before": before,
        "next_200_after": after,
        "first_200_before": first_before,
        "first_200_after": first_after,
        "train_seconds": trained_in,
        "retrain_seconds": retrained_in,
    })
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let runs: Vec<Value> = SEEDS.iter().map(|&seed| simulate(&root, seed)).collect();
    let mean =
        |key: &str| runs.iter().map(|r| r[key].as_f64().unwrap()).sum::<f64>() / runs.len() as f64;
    let spread = |key: &str| {
        let values: Vec<f64> = runs.iter().map(|r| r[key].as_f64().unwrap()).collect();
        let lo = values.iter().cloned().fold(f64::MAX, f64::min);
        let hi = values.iter().cloned().fold(f64::MIN, f64::max);
        (lo, hi)
    };
    let mut md = String::from("# One review round (CLINC150 simulation)\n\n");
    md.push_str(&format!(
        "{INTENTS} CLINC150 intents, {SHOTS} examples each and 20 out-of-scope; {ROUND} held-out paraphrases through the bot, every review-inbox message labelled with its gold intent, retrained; accuracy as the live bot reads (threshold, ambiguity question) on the next {ROUND}. Seeds {SEEDS:?}. Command: `cargo bench --bench review`.\n\n"
    ));
    md.push_str("| seed | first round (understood / asked / not understood / misread+flagged / yes-no word / `;` refused) | inbox entries | labelled | next 200 before | next 200 after | first 200 before → after | train s | retrain s |\n|---|---|---|---|---|---|---|---|---|\n");
    for r in &runs {
        let t = &r["first_round"];
        let n = |k: &str| t[k].as_u64().unwrap_or(0);
        md.push_str(&format!(
            "| {} | {} / {} / {} / {} / {} / {} | {} | {} | {:.1} % | {:.1} % | {:.1} → {:.1} % | {:.1} | {:.1} |\n",
            r["seed"],
            n("understood"),
            n("asked which"),
            n("not understood"),
            n("misread, flagged"),
            n("taken as yes/no"),
            n("refused: shell syntax"),
            r["inbox"].as_object().map_or(0, |o| o.values().map(|v| v.as_u64().unwrap()).sum::<u64>()),
            r["labelled"],
            r["next_200_before"].as_f64().unwrap(),
            r["next_200_after"].as_f64().unwrap(),
            r["first_200_before"].as_f64().unwrap(),
            r["first_200_after"].as_f64().unwrap(),
            r["train_seconds"].as_f64().unwrap(),
            r["retrain_seconds"].as_f64().unwrap(),
        ));
    }
    let (lo_b, hi_b) = spread("next_200_before");
    let (lo_a, hi_a) = spread("next_200_after");
    md.push_str("\nA message taken as a yes/no word (CLINC150's `yes` and `no` intents use the bot's own confirmation words) is not a reading and not in the inbox; nor is one refused whole for shell syntax (a `;`). Training times include encoding.\n");
    md.push_str(&format!(
        "\nNext 200, mean over seeds: **{:.1} % → {:.1} %** (before {lo_b:.1}–{hi_b:.1}, after {lo_a:.1}–{hi_a:.1}).\n",
        mean("next_200_before"),
        mean("next_200_after")
    ));
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("review.md"), &md).unwrap();
    std::fs::write(
        out.join("review.json"),
        serde_json::to_vec_pretty(&runs).unwrap(),
    )
    .unwrap();
    println!("{md}");
}
