//! `make bench` (schedule): 1,000 jobs falling due over about a minute of
//! real time — 900 reminders and 100 requests for later on the example bot
//! (asked for in chat through the real encoder, NLU and engine, then spread
//! over the minute) — kept in a sled store in a temporary folder and fired
//! by the real `Runtime::run_schedule`, whose chat port timestamps each
//! message. Reports the firing error (first message sent − due time)
//! p50/p99/max and how many fired exactly once, to
//! `target/bench/schedule.md` and `schedule.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_encoder::MiniLm;
use opsbot_nlu::{EntityExtractor, Nlu, NluConfig, TrainOptions, TrainingData};
use opsbot_runtime::chat::ChatFuture;
use opsbot_runtime::store::{Audience, Commit, Job, Reminder, Work};
use opsbot_runtime::{Chat, ConversationKey, MessageHandle, Outbound, Runtime, SledStore};

const JOBS: usize = 1000;
/// One job in this many is a request for later (the rest are reminders).
const REQUEST_EVERY: usize = 10;
/// The jobs fall due evenly over this window, starting a few seconds after
/// they are all kept.
const WINDOW: Duration = Duration::from_secs(60);
const LEAD: Duration = Duration::from_secs(5);

/// A chat port that notes when each message was sent.
#[derive(Default)]
struct StampingChat {
    sent: Mutex<Vec<(DateTime<Utc>, Outbound)>>,
}

impl Chat for StampingChat {
    fn send(&self, message: Outbound) -> ChatFuture<'_, Option<MessageHandle>> {
        Box::pin(async move {
            let at = Utc::now();
            let mut sent = self.sent.lock().unwrap();
            let id = format!("${}", sent.len());
            let room = message.room.clone();
            sent.push((at, message));
            Some(MessageHandle { room, id })
        })
    }

    fn edit<'a>(&'a self, _: &'a MessageHandle, _: String) -> ChatFuture<'a, bool> {
        Box::pin(async { false })
    }
}

/// Who job `n` belongs to: each job its own person, so every message names
/// its job (the chat port's mention).
fn person(n: usize) -> String {
    if n.is_multiple_of(REQUEST_EVERY) {
        format!("deployer-{n}")
    } else {
        format!("reminded-{n}")
    }
}

fn key(n: usize) -> ConversationKey {
    ConversationKey::new(format!("!room-{}:bench", n % 20), person(n))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn example_bot(root: &Path, state: &Path) -> Runtime {
    let mut project = opsbot_spec::load_project(root).expect("example project loads");
    // One execution per person: set it so only the scheduler is measured.
    project.settings.rate_limit.executions = u32::MAX;
    let data = TrainingData::from_project(&project);
    let encoder: Arc<MiniLm> =
        Arc::new(MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("encoder"));
    MiniLm::set_threads(1);
    let model = opsbot_nlu::train(
        &data,
        &EntityExtractor::new(&project),
        &NluConfig::default(),
        &project.training_hash,
        TrainOptions {
            encoder: Some(encoder.as_ref()),
            validation: None,
            previous: None,
        },
        |_| {},
    )
    .expect("training");
    let store = SledStore::open(&state.join("opsbot.db")).expect("store opens");
    Runtime::new(
        project.clone(),
        Nlu::new(&project, model, Some(encoder)).expect("nlu"),
        store,
        state.to_path_buf(),
    )
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let state = tempfile::tempdir().expect("temp dir");
    let bot = example_bot(&root, state.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let chat = Arc::new(StampingChat::default());

    let (due, fired_for) = runtime.block_on(async {
        // The requests are asked for in chat (confirmed for later), as people
        // do; then every job is given its time in the window.
        for n in (0..JOBS).step_by(REQUEST_EVERY) {
            let key = key(n);
            let mut replies = Vec::new();
            let text = format!("deploy shop 1.{n} to staging in 10 minutes");
            for said in [text.as_str(), "yes"] {
                bot.handle(&key, said, &mut |r: String| replies.push(r))
                    .await
                    .expect("handled");
            }
            assert!(
                replies.iter().any(|r| r.starts_with("Scheduled for ")),
                "{n}: {replies:?}"
            );
        }
        let start = Utc::now() + chrono::Duration::from_std(LEAD).unwrap();
        let step = WINDOW.as_secs_f64() / JOBS as f64;
        let due_of =
            |n: usize| start + chrono::Duration::microseconds((n as f64 * step * 1e6) as i64);
        let mut change = Commit::at(Utc::now());
        for mut job in bot.store().jobs().expect("jobs") {
            let Work::Request(request) = &mut job.work else {
                continue;
            };
            let n: usize = job.key.user["deployer-".len()..].parse().unwrap();
            request.at = Some(due_of(n));
            change.unschedule.push(request.id.clone());
            change.schedule.push(job);
        }
        assert_eq!(
            change.schedule.len(),
            JOBS / REQUEST_EVERY,
            "every request kept"
        );
        for n in (0..JOBS).filter(|n| n % REQUEST_EVERY != 0) {
            change.schedule.push(Job {
                key: key(n),
                work: Work::Reminder(Reminder {
                    id: format!("bench{n:04}"),
                    at: due_of(n),
                    text: format!("check the backups ({n})"),
                    to: Audience::Requester,
                    said: "in a moment".into(),
                    every: None,
                }),
            });
        }
        let holder = ConversationKey::new("!bench", "bench");
        let conversation = bot.store().load(&holder).expect("load");
        bot.store()
            .commit(&holder, &conversation, change)
            .expect("jobs kept");
        assert_eq!(bot.store().jobs().unwrap().len(), JOBS);

        bot.attach_chat(chat.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let watch = async {
            let deadline = start + chrono::Duration::from_std(WINDOW * 3).unwrap();
            loop {
                let results = chat
                    .sent
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(_, m)| {
                        m.text.starts_with("Reminder") || m.text.contains("is now deployed")
                    })
                    .count();
                if results >= JOBS || Utc::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Anything fired twice would come now.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = stop.send(());
        };
        tokio::join!(
            bot.run_schedule(async {
                let _ = stopped.await;
            }),
            watch
        );
        let due: BTreeMap<String, DateTime<Utc>> =
            (0..JOBS).map(|n| (person(n), due_of(n))).collect();
        // Firings per job: a reminder's message, a request's "Starting what …".
        let mut fired_for: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
        for (at, message) in chat.sent.lock().unwrap().iter() {
            let firing =
                message.text.starts_with("Reminder") || message.text.starts_with("Starting what");
            if let (true, Some(who)) = (firing, &message.mention) {
                fired_for.entry(who.clone()).or_default().push(*at);
            }
        }
        (due, fired_for)
    });

    let deploys = std::fs::read_to_string(state.path().join("deploys.tsv")).unwrap_or_default();
    let ran_once = |n: usize| {
        deploys
            .lines()
            .filter(|l| l.ends_with(&format!("\tshop\t1.{n}\tstaging")))
            .count()
            == 1
    };
    let once = (0..JOBS)
        .filter(|&n| {
            fired_for.get(&person(n)).is_some_and(|f| f.len() == 1)
                && (n % REQUEST_EVERY != 0 || ran_once(n))
        })
        .count();
    let error_ms = |filter: &dyn Fn(usize) -> bool| {
        let mut errors: Vec<f64> = (0..JOBS)
            .filter(|&n| filter(n))
            .filter_map(|n| {
                let first = fired_for.get(&person(n))?.first()?;
                Some((*first - due[&person(n)]).num_microseconds()? as f64 / 1000.0)
            })
            .collect();
        errors.sort_by(f64::total_cmp);
        errors
    };
    let all = error_ms(&|_| true);
    let reminders = error_ms(&|n| n % REQUEST_EVERY != 0);
    let requests = error_ms(&|n| n % REQUEST_EVERY == 0);
    let summary = |e: &[f64]| {
        if e.is_empty() {
            return "none fired".to_string();
        }
        format!(
            "{:.1} / {:.1} / {:.1} ms (min {:.1})",
            percentile(e, 0.5),
            percentile(e, 0.99),
            e[e.len() - 1],
            e[0]
        )
    };
    let rows = [
        (
            "jobs",
            format!(
                "{JOBS}: {} reminders, {} requests for later (example bot, real encoder), due over {} s",
                JOBS - JOBS / REQUEST_EVERY,
                JOBS / REQUEST_EVERY,
                WINDOW.as_secs()
            ),
        ),
        ("firing error p50 / p99 / max, all", summary(&all)),
        ("… reminders", summary(&reminders)),
        ("… requests for later", summary(&requests)),
        ("fired exactly once", format!("{once} of {JOBS}")),
        (
            "jobs left in the store",
            runtime_jobs_left(&bot).to_string(),
        ),
    ];
    let mut markdown = String::from("# opsbot schedule benchmark\n\nProduced by `make bench` (`cargo bench --bench schedule`): 1,000 jobs kept in a sled store (fsync per commit) fall due evenly over 60 s of real time and are fired by the real `Runtime::run_schedule` on a 2-thread runtime; the chat port stamps each message. Firing error = when the job's first message (\"Reminder …\", \"Starting what … scheduled …\") was handed to the chat port − its due time. A request for later runs the real `actions/deploy.sh`; exactly once = one firing message and, for a request, one deploy line.\n\n| measure | value |\n|---|---|\n");
    for (name, value) in &rows {
        markdown.push_str(&format!("| {name} | {value} |\n"));
        println!("{name:<40} {value}");
    }
    let stats = |e: &[f64]| {
        serde_json::json!({
            "count": e.len(),
            "p50_ms": e.get(e.len() / 2).map(|_| percentile(e, 0.5)),
            "p99_ms": e.get(e.len() / 2).map(|_| percentile(e, 0.99)),
            "max_ms": e.last(),
        })
    };
    let json = serde_json::json!({
        "jobs": JOBS,
        "reminders": JOBS - JOBS / REQUEST_EVERY,
        "requests": JOBS / REQUEST_EVERY,
        "window_seconds": WINDOW.as_secs(),
        "firing_error": stats(&all),
        "firing_error_reminders": stats(&reminders),
        "firing_error_requests": stats(&requests),
        "fired_exactly_once": once,
    });
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("schedule.md"), markdown).unwrap();
    std::fs::write(
        out.join("schedule.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    assert_eq!(once, JOBS, "every job fires exactly once");
}

fn runtime_jobs_left(bot: &Runtime) -> usize {
    bot.store()
        .jobs()
        .map(|jobs| jobs.len())
        .unwrap_or(usize::MAX)
}
