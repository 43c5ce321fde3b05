//! Conversation tests for bot authors: YAML transcripts of user turns and the
//! replies expected, run by `opsbot test` against the trained bot with a
//! throwaway store.
//!
//! ```yaml
//! conversations:
//!   - name: the reference conversation
//!     user: alice            # default speaker (optional)
//!     room: ops              # (optional)
//!     turns:
//!       - say: restart apache
//!         expect: On which host would you like to restart apache?
//!       - say: banana
//!         expect: [{contains: "not a host"}]
//!       - as: bob              # another user in the same room
//!         say: hello
//!         expect: [{matches: "^Hello bob"}]
//!       - restart: true        # stop the bot and start it again on the same store
//!       - wait: 11m            # time passes with the bot running: due work runs at its time
//!       - restart: true        # with a wait: time the bot was down; due work is found late
//!         wait: 2h
//!       - totp: true           # send the speaker's current TOTP code
//!       - totp_again: true     # send the speaker's last code once more (a replay)
//!       - room: dev            # this turn in another room
//!         say: hello
//! ```
//!
//! Users listed under a conversation's `two_factor:` are enrolled first. A
//! conversation's `now: 2026-03-01T09:00:00Z` pins the bot's clock at its
//! start (waits and codes move it on from there, also across restarts);
//! `time_zone: Europe/Berlin` puts every speaker in that zone.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use opsbot_runtime::totp::current_code;
use opsbot_runtime::{Clock, ConversationKey, ManualClock, Runtime, SledStore, TotpRecord};
use regex::Regex;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptFile {
    pub conversations: Vec<Conversation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    pub name: String,
    #[serde(default = "default_user")]
    pub user: String,
    #[serde(default = "default_room")]
    pub room: String,
    /// Users enrolled in two-factor authentication (with fresh secrets) before the first turn.
    #[serde(default)]
    pub two_factor: Vec<String>,
    /// The bot's clock at the first turn (RFC 3339), instead of the real time.
    pub now: Option<String>,
    /// Every speaker's time zone (an IANA name), instead of `opsbot.yaml`'s.
    pub time_zone: Option<String>,
    pub turns: Vec<Turn>,
}

fn default_user() -> String {
    "alice".into()
}

fn default_room() -> String {
    "ops".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    #[serde(rename = "as")]
    pub speaker: Option<String>,
    pub say: Option<String>,
    /// The room of this turn, instead of the conversation's.
    pub room: Option<String>,
    pub expect: Option<Expected>,
    /// Each must match at least one reply of the turn, whatever their number
    /// and order: an expectation about meaning, not about how many messages.
    #[serde(default)]
    pub expect_any: Vec<Expectation>,
    /// None may match any reply of the turn ("Shall I go ahead").
    #[serde(default)]
    pub expect_none: Vec<Expectation>,
    #[serde(default)]
    pub restart: bool,
    pub wait: Option<String>,
    /// Files (relative to the conversation's state folder) that must exist.
    #[serde(default)]
    pub expect_files: Vec<String>,
    /// Files that must not exist (nothing ran).
    #[serde(default)]
    pub absent_files: Vec<String>,
    /// Say the speaker's current TOTP code (the clock first moves on 30 s, so
    /// each code is fresh).
    #[serde(default)]
    pub totp: bool,
    /// Say the code this speaker sent last once more (a replay).
    #[serde(default)]
    pub totp_again: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Expected {
    One(Expectation),
    Many(Vec<Expectation>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Expectation {
    Exact(String),
    Contains { contains: String },
    Matches { matches: String },
}

impl Expectation {
    fn check(&self, reply: &str) -> Result<bool> {
        Ok(match self {
            Expectation::Exact(text) => reply == text,
            Expectation::Contains { contains } => reply.contains(contains.as_str()),
            Expectation::Matches { matches } => Regex::new(matches)
                .with_context(|| format!("bad pattern {matches:?}"))?
                .is_match(reply),
        })
    }

    fn describe(&self) -> String {
        match self {
            Expectation::Exact(text) => format!("{text:?}"),
            Expectation::Contains { contains } => format!("a reply containing {contains:?}"),
            Expectation::Matches { matches } => format!("a reply matching /{matches}/"),
        }
    }
}

/// What running one conversation found.
pub struct Outcome {
    pub name: String,
    pub failure: Option<String>,
}

pub fn load(path: &Path) -> Result<TranscriptFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("{}:{}:{}", path.display(), l.line(), l.column()))
            .unwrap_or_else(|| path.display().to_string());
        anyhow::anyhow!("{at}: {e}")
    })
}

/// Transcript files under `paths` (files, or folders of `*.yaml`), sorted.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in
                std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))?
            {
                let p = entry?.path();
                if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                    files.push(p);
                }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            bail!("{} does not exist", path.display());
        }
    }
    files.sort();
    Ok(files)
}

/// Builds a bot for one conversation on a fresh store in `state`, on the
/// conversation's clock.
pub type BotFactory<'a> = dyn Fn(&Path, std::sync::Arc<dyn Clock>) -> Result<Runtime> + 'a;

pub fn run_conversation(
    conversation: &Conversation,
    make_bot: &BotFactory<'_>,
    runtime: &tokio::runtime::Runtime,
) -> Outcome {
    let failure = run_turns(conversation, make_bot, runtime)
        .err()
        .map(|e| format!("{e:#}"));
    Outcome {
        name: conversation.name.clone(),
        failure,
    }
}

fn run_turns(
    conversation: &Conversation,
    make_bot: &BotFactory<'_>,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    let state = tempfile::tempdir().context("creating a throwaway state folder")?;
    // The transcript's one clock, kept across restarts: pinned by `now:`,
    // moved on by waits and codes; the store's times come from it too.
    let clock = std::sync::Arc::new(ManualClock::new());
    if let Some(now) = &conversation.now {
        let at = chrono::DateTime::parse_from_rfc3339(now)
            .with_context(|| {
                format!("`now: {now}` is not an RFC 3339 time such as 2026-03-01T09:00:00Z")
            })?
            .with_timezone(&chrono::Utc);
        clock.set(at);
    }
    let zone = match &conversation.time_zone {
        Some(name) => Some(opsbot_spec::types::parse_zone(name).with_context(|| {
            format!("`time_zone: {name}` is not a time zone; expected an IANA name such as Europe/Berlin")
        })?),
        None => None,
    };
    let start = |state: &Path| -> Result<Runtime> {
        let bot = make_bot(state, clock.clone())?;
        if let Some(zone) = zone {
            bot.set_time_zone(zone);
        }
        // As a door starts it: interrupted actions resolved, posts armed.
        runtime
            .block_on(bot.ingress().start())
            .context("starting the bot")?;
        Ok(bot)
    };
    let mut bot = Some(start(state.path())?);
    let mut last_codes: std::collections::HashMap<String, String> = Default::default();
    for user in &conversation.two_factor {
        let current = bot.as_ref().expect("bot is running");
        current
            .store()
            .put_totp(user, &TotpRecord::generate(current.now()))?;
    }
    for (number, turn) in conversation.turns.iter().enumerate() {
        let number = number + 1;
        if turn.restart {
            // The old process's store is closed before the new one opens it.
            drop(bot.take());
            bot = Some(start(state.path())?);
        }
        let current = bot.as_ref().expect("bot is running");
        let room = turn.room.as_deref().unwrap_or(&conversation.room);
        // What scheduled work said in this turn's room during a wait: the
        // turn's replies when it says nothing itself.
        let mut fired = Vec::new();
        if let Some(wait) = &turn.wait {
            let by = humantime::parse_duration(wait)
                .with_context(|| format!("turn {number}: `wait: {wait}` is not a duration"))?;
            // A wait after a restart is time the bot was down: everything
            // due is found late at once. Otherwise the bot was running and
            // does each job at its time.
            let said = pass_time(current, &clock, by, !turn.restart, runtime)
                .with_context(|| format!("turn {number}: running scheduled work"))?;
            fired = said
                .into_iter()
                .filter(|said| said.room == room)
                .map(|said| said.text)
                .collect();
        }
        let user = turn.speaker.as_deref().unwrap_or(&conversation.user);
        let code;
        let said = if turn.totp {
            clock.advance(std::time::Duration::from_secs(30));
            let record = current.store().totp(user)?.with_context(|| {
                format!("turn {number}: {user} is not enrolled (list them under `two_factor:`)")
            })?;
            code = current_code(&record.secret_bytes(), current.now());
            last_codes.insert(user.to_string(), code.clone());
            Some(&code)
        } else if turn.totp_again {
            code = last_codes.get(user).cloned().with_context(|| {
                format!("turn {number}: `totp_again` needs an earlier `totp` turn of {user}")
            })?;
            Some(&code)
        } else {
            turn.say.as_ref()
        };
        let Some(text) = said else {
            let expects = turn.expect.is_some()
                || !turn.expect_any.is_empty()
                || !turn.expect_none.is_empty();
            if expects && turn.wait.is_none() {
                bail!("turn {number}: `expect`, `expect_any` and `expect_none` need a `say` (or a `wait`, for what scheduled requests said)");
            }
            if expects {
                check_replies(turn, number, "after the wait", &fired)?;
            }
            check_files(turn, number, state.path())?;
            continue;
        };
        let key = ConversationKey::new(room, user);
        let mut replies = Vec::new();
        runtime
            .block_on(current.handle(&key, text, &mut |r: String| replies.push(r)))
            .with_context(|| format!("turn {number}: handling {text:?}"))?;
        check_replies(turn, number, &format!("{user} said {text:?}"), &replies)?;
        check_files(turn, number, state.path())?;
    }
    Ok(())
}

/// Checks what the actions wrote by the end of a turn (its wait and its
/// message both done).
fn check_files(turn: &Turn, number: usize, state: &Path) -> Result<()> {
    for file in &turn.expect_files {
        if !state.join(file).exists() {
            bail!(
                "turn {number}: expected the action to have written {file} by the end of the turn"
            );
        }
    }
    for file in &turn.absent_files {
        if state.join(file).exists() {
            bail!(
                "turn {number}: expected no {file} by the end of the turn, but an action wrote it"
            );
        }
    }
    Ok(())
}

/// Moves the clock on by `by` and runs what came due. With `running`, the
/// clock stops at each due time on the way (a recurring post comes at each
/// of its times, a request for later runs on time); otherwise it jumps, as
/// for a bot that was down, and everything due is found late at once.
fn pass_time(
    bot: &Runtime,
    clock: &ManualClock,
    by: std::time::Duration,
    running: bool,
    runtime: &tokio::runtime::Runtime,
) -> Result<Vec<opsbot_runtime::Outbound>> {
    let until = bot.now() + chrono::Duration::from_std(by).context("the wait is too long")?;
    let mut said = Vec::new();
    let next_due = || -> Result<Option<(String, chrono::DateTime<chrono::Utc>)>> {
        Ok(bot
            .store()
            .jobs()?
            .iter()
            .map(|job| (job.id().to_string(), job.due_at()))
            .filter(|(_, due)| *due <= until)
            .min_by_key(|(_, due)| *due))
    };
    // A bound on the stops, so a recurring job due every second cannot keep
    // a long wait going forever.
    for _ in 0..100_000 {
        let Some((job, due)) = next_due()?.filter(|_| running) else {
            break;
        };
        clock.set(due.max(bot.now()));
        // Timed holds (mutes, quiet hours) may have ended.
        bot.alerts().wake();
        said.extend(runtime.block_on(bot.fire_due())?);
        if next_due()?.is_some_and(|next| next == (job.clone(), due)) {
            // Still there at its time (its door could not take it): it is
            // found again at the end.
            break;
        }
    }
    clock.set(until.max(bot.now()));
    bot.alerts().wake();
    said.extend(runtime.block_on(bot.fire_due())?);
    Ok(said)
}

/// Checks a turn's replies against its `expect`, `expect_any` and
/// `expect_none`; `said` names what the turn did ("bob said …", "after the
/// wait").
fn check_replies(turn: &Turn, number: usize, said: &str, replies: &[String]) -> Result<()> {
    let shown = |replies: &[String]| {
        if replies.is_empty() {
            "(no reply)".to_string()
        } else {
            replies
                .iter()
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
                .join("\n                ")
        }
    };
    for wanted in &turn.expect_any {
        let mut found = false;
        for reply in replies {
            found |= wanted.check(reply)?;
        }
        if !found {
            bail!(
                "turn {number}, {said}\n      expected any reply to be {}\n      got:      {}",
                wanted.describe(),
                shown(replies)
            );
        }
    }
    for unwanted in &turn.expect_none {
        for reply in replies {
            if unwanted.check(reply)? {
                bail!(
                    "turn {number}, {said}\n      expected no reply to be {}\n      got:      {}",
                    unwanted.describe(),
                    shown(replies)
                );
            }
        }
    }
    let expected: Vec<&Expectation> = match &turn.expect {
        None => return Ok(()),
        Some(Expected::One(e)) => vec![e],
        Some(Expected::Many(list)) => list.iter().collect(),
    };
    let mismatch = expected.len() != replies.len()
        || expected
            .iter()
            .zip(replies)
            .map(|(e, r)| e.check(r))
            .collect::<Result<Vec<bool>>>()?
            .contains(&false);
    if mismatch {
        bail!(
            "turn {number}, {said}\n      expected: {}\n      got:      {}",
            expected
                .iter()
                .map(|e| e.describe())
                .collect::<Vec<_>>()
                .join("\n                "),
            shown(replies)
        );
    }
    Ok(())
}

/// Opens a store for a transcript conversation.
pub fn throwaway_store(state: &Path) -> Result<SledStore> {
    Ok(SledStore::open(&state.join("opsbot.db"))?)
}
