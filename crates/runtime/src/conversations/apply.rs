//! Performing a step: its state, audit records and journal entries are
//! committed in one transaction before any reply is sent; then the replies
//! go out, and an action or lookup the step asked for is performed and its
//! result stepped in, until the conversation rests.

use opsbot_dialog::{step, Conversation, Effect, Input, Transition};

use super::{Conversations, Facts};
use crate::audit::AuditRecord;
use crate::model::Loaded;
use crate::reply::{Reply, ReplyId};
use crate::store::{Commit, ConversationKey, Job, JournalStatus, LockChange};
use crate::RuntimeError;

impl Conversations {
    /// Persists a transition with its audit records and journal entries,
    /// replies, and runs its action (feeding the outcome back) until the
    /// conversation rests.
    pub(super) async fn apply(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        mut transition: Transition,
        mut records: Vec<AuditRecord>,
        facts: Facts,
        reply: &mut Reply<'_>,
    ) -> Result<Conversation, RuntimeError> {
        let project = &loaded.project;
        let settings = &project.settings;
        // The reply announcing the running action, when the sink can edit it.
        let mut progress: Option<(ReplyId, String)> = None;
        // After a run, the first reply is the action's outcome.
        let mut after_run = false;
        let mut journal: Vec<(String, JournalStatus)> = Vec::new();
        // A runbook's one progress message, edited as its steps go.
        let mut runbook_progress: Option<ReplyId> = None;
        loop {
            let now = self.floor.now();
            let mut run = None;
            let mut lookup = None;
            let mut lessons = Vec::new();
            let mut steps_progress = None;
            let (mut schedule, mut unschedule) = (Vec::new(), Vec::new());
            for effect in transition.effects {
                match effect {
                    Effect::Record(record) => {
                        records.push(AuditRecord::from_record(settings, key, now, &record))
                    }
                    Effect::Run { plan, request } => run = Some((plan, request)),
                    Effect::Lookup { lookup: l, .. } => lookup = Some(l),
                    Effect::Learn(lesson) => lessons.push(lesson),
                    Effect::Schedule(request) => {
                        schedule.push(Job::of_request(key.clone(), request))
                    }
                    Effect::Unschedule(id) => unschedule.push(id),
                    Effect::Progress { whole, latest } => steps_progress = Some((whole, latest)),
                }
            }
            if let Some((_, request)) = &run {
                journal.push((request.run_id(), JournalStatus::Planned));
            }
            let change = Commit {
                at: now,
                records: std::mem::take(&mut records),
                journal: std::mem::take(&mut journal),
                // Read-only runs do not count against the rate limit, and
                // a runbook counts once, at its first program.
                execution_by: run
                    .as_ref()
                    .filter(|(_, request)| {
                        !request.dry_run
                            && request.runbook.as_ref().is_none_or(|r| r.runs == 1)
                            && project
                                .dialogs
                                .get(&request.dialog)
                                .is_none_or(|d| !d.read_only)
                    })
                    .map(|_| settings.person_of(&key.user).to_string()),
                unschedule,
                schedule,
                lock: match opsbot_dialog::lock_of(project, &transition.conversation) {
                    Some(lock) => LockChange::Hold(lock),
                    None => LockChange::Release,
                },
            };
            let scheduled = !change.schedule.is_empty();
            match self
                .floor
                .commit(key, &transition.conversation, change)
                .await
            {
                // Another conversation's run holds the runbook's lock: the
                // step that would start it was not kept; the engine says so.
                Err(RuntimeError::Locked { key: lock, holder }) => {
                    let ctx = self.context_with(loaded, key, facts, false);
                    let input = Input::Locked {
                        lock: &lock,
                        holder: &holder,
                    };
                    transition = step(project, transition.conversation, input, &ctx);
                    continue;
                }
                committed => committed?,
            };
            if scheduled {
                self.floor.jobs_changed.notify_one();
            }
            self.review.learn(loaded, key, lessons).await;
            // A runbook's progress: one message edited in place where the
            // sink can edit, else the steps since the last one.
            if let Some((whole, latest)) = steps_progress {
                match runbook_progress {
                    Some(id) => reply.edit(id, whole),
                    None if reply.edits_in_place() => runbook_progress = reply.say(whole),
                    None if latest.is_empty() => {}
                    None => {
                        reply.say(latest);
                    }
                }
            }
            // The reply announcing a run ("Restarting … …") is the one a sink
            // that can edit keeps up to date; the result then replaces it.
            let count = transition.replies.len();
            for (i, text) in transition.replies.into_iter().enumerate() {
                match progress.take() {
                    Some((id, _)) if i == 0 => reply.conclude(Some(id), text, &key.user),
                    None if i == 0 && after_run => reply.conclude(None, text, &key.user),
                    _ => {
                        let announces_run = run.is_some() && i + 1 == count;
                        if let (true, Some(id)) = (announces_run, reply.say(text.clone())) {
                            progress = Some((id, text));
                        }
                    }
                }
            }
            let Some((plan, request)) = run else {
                if let Some(lookup) = lookup {
                    // Read-only: nothing to journal; a restart looks it up again.
                    let result = self.actions.look_up(project, &lookup).await;
                    let ctx = self.context_with(loaded, key, facts, false);
                    transition = step(
                        project,
                        transition.conversation,
                        Input::LookedUp(&result),
                        &ctx,
                    );
                    continue;
                }
                return Ok(transition.conversation);
            };
            let (id, at) = (request.run_id(), self.floor.now());
            self.floor
                .blocking(move |store| store.mark_started(&id, at))
                .await?;
            tracing::info!(room = %key.room, user = %key.user, dialog = %request.dialog, request = %request.id, command = %plan.command_line(), "running action");
            let outcome = {
                let execution = self.actions.execute(loaded, &plan);
                tokio::pin!(execution);
                let started = std::time::Instant::now();
                let every = settings.progress_every.filter(|_| progress.is_some());
                let mut ticked = false;
                let outcome = loop {
                    tokio::select! {
                        outcome = &mut execution => break outcome,
                        () = tokio::time::sleep(every.unwrap_or_default()), if every.is_some() => {
                            ticked = true;
                            if let Some((id, text)) = &progress {
                                reply.edit(*id, format!(
                                    "{text} (still running, {}s)",
                                    started.elapsed().as_secs()
                                ));
                            }
                        }
                    }
                };
                // A quick action keeps its two messages; only one that was
                // reported as still running gets its result in place.
                if !ticked {
                    progress = None;
                }
                outcome
            };
            tracing::info!(request = %request.id, exit_code = ?outcome.exit_code, succeeded = outcome.succeeded, "action finished");
            let ctx = self.context_with(loaded, key, facts, false);
            records.push(AuditRecord::executed(
                settings, key, ctx.now, &request, &plan, &outcome,
            ));
            if request.alert.is_some() && !request.dry_run {
                self.alerts
                    .note_action(loaded, key, &request, &outcome)
                    .await?;
            }
            journal.push((request.run_id(), JournalStatus::Finished));
            after_run = true;
            transition = step(
                project,
                transition.conversation,
                Input::ActionFinished(&outcome),
                &ctx,
            );
        }
    }
}
