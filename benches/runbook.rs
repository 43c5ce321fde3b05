//! `make bench` (runbook): what the journal costs each runbook step. A
//! runbook of 20 program steps (each a shell script that writes the time it
//! started, in nanoseconds, under the state folder) is confirmed and run 50
//! times through the real runtime, engine and a sled store in a temporary
//! folder; the NLU is trained on n-grams only (no encoder), since only the
//! steps are measured. A step's overhead is the time from its program's
//! last moment (the script's final `date`) to the next program's first: its
//! exit and reaping, the engine step, the commit
//! that journals it finished and plans the next (flushed), the `started`
//! mark (flushed) and the spawn. Reports p50/p99/max to
//! `target/bench/runbook.md` and `runbook.json`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use opsbot_nlu::{EntityExtractor, Nlu, NluConfig, TrainOptions, TrainingData};
use opsbot_runtime::{ConversationKey, Runtime, SledStore};

const STEPS: usize = 20;
const RUNS: usize = 50;

/// A project with one runbook of `STEPS` steps.
fn project(root: &Path) {
    for folder in ["intents", "dialogs", "actions"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    std::fs::write(
        root.join("opsbot.yaml"),
        "name: stepbot\nencoder: none\nrate_limit: {executions: 100000, per: 1m}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("intents/steps.yaml"),
        "intents:\n  run_steps:\n    examples: [run the steps, run all the steps, start the step runbook, go through the steps, run the runbook]\n  greet:\n    examples: [hello, hi, good morning, hey there, hello bot]\nout_of_scope: [what is the weather, tell me a joke, order a pizza]\n",
    )
    .unwrap();
    let mut dialogs = String::from(
        "dialogs:\n  greet:\n    description: say hello\n    reply: Hello!\n  run_steps:\n    description: run the steps\n    allow: [\"*\"]\n    confirm: I will run the steps. Shall I go ahead?\n    steps:\n",
    );
    for n in 1..=STEPS {
        dialogs.push_str(&format!(
            "      - name: s{n}\n        description: step {n}\n        program: actions/stamp.sh\n        args: [\"{n}\"]\n"
        ));
    }
    dialogs.push_str("    success: Done in {duration}.\n");
    std::fs::write(root.join("dialogs/steps.yaml"), dialogs).unwrap();
    let stamp = root.join("actions/stamp.sh");
    std::fs::write(
        &stamp,
        "#!/bin/sh\nstart=$(date +%s%N)\nprintf '%s %s %s\\n' \"$1\" \"$start\" \"$(date +%s%N)\" >> \"$OPSBOT_STATE_DIR/stamps\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&stamp, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn bot(root: &Path, state: &Path) -> Runtime {
    let project = opsbot_spec::load_project(root).expect("the bench project loads");
    let data = TrainingData::from_project(&project);
    let model = opsbot_nlu::train(
        &data,
        &EntityExtractor::new(&project),
        &NluConfig::default(),
        &project.training_hash,
        TrainOptions {
            encoder: None,
            validation: None,
            previous: None,
        },
        |_| {},
    )
    .expect("training");
    let store = SledStore::open(&state.join("opsbot.db")).expect("store opens");
    Runtime::new(
        project.clone(),
        Nlu::new(&project, model, None).expect("nlu"),
        store,
        state.to_path_buf(),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let root = tempfile::tempdir().expect("temp dir");
    let state = root.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    project(root.path());
    let bot = bot(root.path(), &state);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key = ConversationKey::new("!bench", "alice");
    let started = Instant::now();
    runtime.block_on(async {
        for run in 0..RUNS {
            let mut replies = Vec::new();
            for said in ["run the steps", "yes"] {
                bot.handle(&key, said, &mut |r: String| replies.push(r))
                    .await
                    .expect("handled");
            }
            assert!(
                replies.iter().any(|r| r.starts_with("Done in")),
                "run {run}: {replies:?}"
            );
        }
    });
    let wall = started.elapsed();

    // Each program's first and last moment, in order.
    let stamps: Vec<(u128, u128)> = std::fs::read_to_string(state.join("stamps"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split(' ').skip(1).map(|t| t.parse().unwrap());
            (parts.next().unwrap(), parts.next().unwrap())
        })
        .collect();
    assert_eq!(stamps.len(), STEPS * RUNS, "every step ran once");
    let durations: Vec<u64> = bot
        .store()
        .audit_oldest_first()
        .map(|r| r.expect("audit record"))
        .filter(|r| r.step.is_some())
        .map(|r| r.duration_ms.unwrap_or_default())
        .collect();
    assert_eq!(durations.len(), STEPS * RUNS, "one audit record per step");
    let mut overheads: Vec<f64> = Vec::new();
    for run in 0..RUNS {
        for step in 0..STEPS - 1 {
            let i = run * STEPS + step;
            overheads.push((stamps[i + 1].0 - stamps[i].1) as f64 / 1e6);
        }
    }
    overheads.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99, max) = (
        percentile(&overheads, 0.5),
        percentile(&overheads, 0.99),
        *overheads.last().unwrap(),
    );
    let program_ms: f64 = durations.iter().sum::<u64>() as f64 / durations.len() as f64;
    let markdown = format!(
        "# Runbook steps: the journal's overhead per step\n\n\
         {RUNS} runs of a {STEPS}-step runbook (each step a shell script) through the real runtime, engine and a sled store; `cargo bench --bench runbook`.\n\n\
         | per step | ms |\n|---|---|\n\
         | overhead p50 | {p50:.2} |\n| overhead p99 | {p99:.2} |\n| overhead max | {max:.2} |\n\
         | a step's program (mean, as the executor measured it, whole ms) | {program_ms:.2} |\n\n\
         Overhead: from a program's last moment (its script's final `date`) to the next program's first: the process's exit and reaping, the engine step, the commit journalling it finished and the next planned (flushed), the `started` mark (flushed) and the spawn. {} samples; wall time {:.1} s.\n",
        overheads.len(),
        wall.as_secs_f64()
    );
    let json = serde_json::json!({
        "runs": RUNS,
        "steps": STEPS,
        "samples": overheads.len(),
        "overhead_ms": {"p50": p50, "p99": p99, "max": max},
        "program_mean_ms": program_ms,
        "wall_s": wall.as_secs_f64(),
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("runbook.md"), &markdown).unwrap();
    std::fs::write(
        out.join("runbook.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    print!("{markdown}");
}
