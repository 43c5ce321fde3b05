//! Requests for later: "restart apache on web-04 at 21:00" is confirmed now,
//! naming the time in the speaker's zone and UTC, handed to the runtime's
//! scheduler (`Effect::Schedule`) and run when it comes back due
//! (`Input::Due`), checked again as of then: who may, and the rate limit.

use opsbot_spec::types::{display_time, parse_datetime_in, time_distance, Direction, TimeFrame};
use opsbot_spec::{Missed, ValueType};

use super::*;

/// A time this close to now is "now", not later.
const NOT_LATER: chrono::Duration = chrono::Duration::minutes(1);

/// A request due longer ago than this was missed (the bot was down): it is
/// not run, and its requester is told.
const MISSED_AFTER: chrono::Duration = chrono::Duration::minutes(10);

/// How long a due request waits when its conversation is running another
/// action of the same person.
const BUSY_RETRY: chrono::Duration = chrono::Duration::minutes(1);

impl<'a> Step<'a> {
    /// The future time in the message that no slot took, for a dialog that
    /// may be scheduled: (its span, when). "at 21:00", "in 2 hours",
    /// "tomorrow morning" in the speaker's zone.
    pub(super) fn deferral(
        &self,
        dialog: &Dialog,
        u: &Understanding,
        used: &[(usize, usize)],
    ) -> Option<((usize, usize), DateTime<Utc>)> {
        if !dialog.schedulable || !matches!(dialog.behaviour, Behaviour::Run { .. }) {
            return None;
        }
        let frame = TimeFrame {
            now: self.ctx.now,
            zone: self.ctx.time_zone,
            direction: Direction::Future,
        };
        ValueType::DateTime
            .find(&u.text, self.ctx.now)
            .into_iter()
            .filter(|&(start, end)| !used.iter().any(|&(s, e)| start < e && s < end))
            .find_map(|(start, end)| {
                let at = parse_datetime_in(u.text.get(start..end)?, &frame)?;
                (at > self.ctx.now + NOT_LATER).then_some(((start, end), at))
            })
    }

    /// The refusal of a change that can wait asked for a time already past
    /// ("yesterday at 3pm"): running it now is not what was asked.
    pub(super) fn past_time(
        &self,
        dialog: &Dialog,
        u: &Understanding,
        used: &[(usize, usize)],
    ) -> Option<String> {
        if !dialog.schedulable || !matches!(dialog.behaviour, Behaviour::Run { .. }) {
            return None;
        }
        let frame = TimeFrame {
            now: self.ctx.now,
            zone: self.ctx.time_zone,
            direction: Direction::Any,
        };
        let (said, at) = ValueType::DateTime
            .find(&u.text, self.ctx.now)
            .into_iter()
            .filter(|&(start, end)| !used.iter().any(|&(s, e)| start < e && s < end))
            .find_map(|(start, end)| {
                let said = u.text.get(start..end)?;
                let at = parse_datetime_in(said, &frame)?;
                (at < self.ctx.now - NOT_LATER).then_some((said, at))
            })?;
        Some(format!(
            "“{said}” is in the past ({}, {}), so I did nothing. To {} at a time still to come, say it again with that time; without a time, I ask before doing it now.",
            display_time(at, self.ctx.time_zone),
            time_distance(at, self.ctx.now),
            dialog.description
        ))
    }

    /// The time a correction at a confirmation gives on its own ("no, make
    /// it 23:30", "no, 22:00 instead"), for a change that can wait: a bare
    /// clock time counts here, where nothing else is being asked.
    pub(super) fn corrected_time(
        &self,
        dialog: &Dialog,
        rest: &str,
    ) -> Option<(String, DateTime<Utc>)> {
        if !dialog.schedulable || !matches!(dialog.behaviour, Behaviour::Run { .. }) {
            return None;
        }
        static FILLER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r"(?i)^(?:(?:make|change|move|set|push|put)\s+it\s+(?:to\s+|for\s+)?|(?:let's\s+do|do\s+it|how\s+about|rather|instead)\s+(?:at\s+)?)?(?P<time>.+?)(?:\s+(?:instead|then|please))*$",
            )
            .expect("a valid pattern")
        });
        let time = FILLER.captures(rest)?.name("time")?.as_str().trim();
        let frame = TimeFrame {
            now: self.ctx.now,
            zone: self.ctx.time_zone,
            direction: Direction::Future,
        };
        let at = parse_datetime_in(time, &frame)?;
        (at > self.ctx.now + NOT_LATER).then(|| (time.to_string(), at))
    }

    /// Why a schedulable dialog did not wait for a time it was given: the
    /// time is past ("yesterday at 3pm") or now.
    pub(super) fn time_not_to_come(&self, dialog: &Dialog, said: &str) -> String {
        let frame = TimeFrame {
            now: self.ctx.now,
            zone: self.ctx.time_zone,
            direction: Direction::Any,
        };
        let description = &dialog.description;
        match parse_datetime_in(said, &frame) {
            Some(at) if at < self.ctx.now - NOT_LATER => format!(
                "it is in the past ({}, {}); I can {description} now or at a time still to come — a yes does it now",
                display_time(at, self.ctx.time_zone),
                time_distance(at, self.ctx.now)
            ),
            Some(_) => "that is now, so a yes does it now".to_string(),
            None => "I could not read it as a time still to come — a yes does it now".to_string(),
        }
    }

    /// "“at 21:00” is Mon 7 Dec 2026 21:00 CET (20:00 UTC, in 3 hours), so
    /// this waits until then:" — the time named back as written, and what
    /// it was read as.
    pub(super) fn when(&self, request: &Request, at: DateTime<Utc>) -> String {
        match &request.at_said {
            Some(said) => format!(
                "“{said}” is {}, so this waits until then:",
                self.when_words(at)
            ),
            None => format!("At {}:", self.when_words(at)),
        }
    }

    /// "Mon 7 Dec 2026 21:00 CET (20:00 UTC, in 3 hours)".
    fn when_words(&self, at: DateTime<Utc>) -> String {
        let local = display_time(at, self.ctx.time_zone);
        let distance = time_distance(at, self.ctx.now);
        if self.ctx.time_zone == chrono_tz::UTC {
            format!("{local} ({distance})")
        } else {
            format!("{local} ({} UTC, {distance})", at.format("%H:%M"))
        }
    }

    /// "I will restart apache on web-04": the confirmation's statement
    /// without its question, or the request described.
    pub(super) fn stated(&self, dialog: &Dialog, request: &Request) -> String {
        let rendered = dialog
            .confirm
            .as_ref()
            .map(|c| c.render(&self.vars(request)));
        let statement = rendered.as_deref().and_then(|text| {
            let before = text.trim_end().strip_suffix("Shall I go ahead?")?;
            let before = before.trim_end().trim_end_matches('.');
            (!before.is_empty()).then(|| before.to_string())
        });
        statement.unwrap_or_else(|| format!("I will {}", self.describe(dialog, request)))
    }

    /// The confirmed request goes to the scheduler instead of running.
    pub(super) fn schedule(
        &mut self,
        dialog: &Dialog,
        request: Request,
        at: DateTime<Utc>,
    ) -> Phase {
        let then = if dialog.when_due.confirm {
            "I will ask you again then, before it runs"
        } else {
            "Nothing runs before then"
        };
        self.say(format!(
            "Scheduled for {}: {}. {then}; say “what is scheduled?” to see it, or “cancel {}” to drop it.",
            self.when_words(at),
            self.stated(dialog, &request),
            request.short_id()
        ));
        self.effects.push(Effect::Schedule(request.clone()));
        self.record(Outcome::Scheduled, request, "scheduled for later");
        Phase::Idle
    }

    /// A scheduled request is due: checked again as of now (who may, the
    /// rate limit, two-factor and approval as the dialog says now), then
    /// run — or asked about first, when its dialog wants a fresh
    /// confirmation or its time passed while the bot was not running. While
    /// the person's conversation waits for an answer, that waits (parked)
    /// and comes back after; while one of their actions runs, the request
    /// is put back a minute.
    pub(super) fn due(
        &mut self,
        phase: Phase,
        parked: &mut Option<Box<Phase>>,
        request: &Request,
    ) -> Phase {
        if request.runbook.is_some() {
            return self.runbook_due(phase, request);
        }
        self.effects.push(Effect::Unschedule(request.id.clone()));
        let Some(dialog) = self.dialog_of(request) else {
            return phase;
        };
        let mut request = request.clone();
        let due = request.at.unwrap_or(self.ctx.now);
        let described = self.describe(dialog, &request);
        let policy = &dialog.when_due;
        let grace = chrono::Duration::from_std(policy.grace).unwrap_or(MISSED_AFTER);
        let missed = self.ctx.now - due > grace;
        let then = display_time(due, self.ctx.time_zone);
        if missed && policy.missed == Missed::Skip {
            // The bot was not running at the time: a change never runs that
            // late unasked.
            self.say(format!(
                "I was not running at {then}, so the request to {described} that {} scheduled did not run; ask again if it is still wanted.",
                self.ctx.user
            ));
            self.record(
                Outcome::Cancelled,
                request,
                "missed: the bot was not running at its time",
            );
            return phase;
        }
        let busy = matches!(phase, Phase::Executing { .. } | Phase::Checking { .. })
            || (parked.is_some() && !matches!(phase, Phase::Idle));
        if busy {
            request.at = Some(self.ctx.now + BUSY_RETRY);
            self.effects.push(Effect::Schedule(request));
            return phase;
        }
        let groups = &self.project.settings.groups;
        let allowed = dialog
            .access
            .check_start(groups, self.ctx.user, self.ctx.room)
            .and_then(|()| {
                dialog
                    .access
                    .check_values(groups, self.ctx.user, &request.slot_values())
            });
        if let Err(reason) = allowed {
            self.say(format!(
                "The scheduled request to {described} did not run: {} may no longer {}: {reason}.",
                self.ctx.user, dialog.description
            ));
            self.record(Outcome::Denied, request, format!("at its time: {reason}"));
            return phase;
        }
        if !matches!(phase, Phase::Idle) {
            parked.get_or_insert(Box::new(phase));
        }
        let stated = self.stated(dialog, &request);
        request.at = None;
        request.touched_at = self.ctx.now;
        if missed && policy.missed == Missed::Ask {
            self.say(format!(
                "I was not running at {then}, so what {} scheduled for then did not run: {stated}. Shall I run it now? (yes/no)",
                self.ctx.user
            ));
            return Phase::AwaitingConfirmation { request };
        }
        if policy.confirm {
            self.say(format!(
                "It is time for what {} scheduled for {then}: {stated}. Shall I go ahead now? (yes/no)",
                self.ctx.user
            ));
            return Phase::AwaitingConfirmation { request };
        }
        let limit = &self.project.settings.rate_limit;
        if !dialog.read_only && self.ctx.recent_executions >= limit.executions {
            let reason = format!(
                "{} started {} actions in the last {}",
                self.ctx.user,
                self.ctx.recent_executions,
                humantime::format_duration(limit.per)
            );
            self.say(format!(
                "The scheduled request to {described} did not run: {reason}; ask again when you need it."
            ));
            self.record(
                Outcome::Cancelled,
                request,
                format!("at its time: {reason}"),
            );
            return Phase::Idle;
        }
        if missed {
            self.say(format!(
                "I was not running at {then}; starting what {} scheduled for then now, late, as its dialog allows: {stated}.",
                self.ctx.user
            ));
        } else {
            self.say(format!(
                "Starting what {} scheduled for {then}: {stated}.",
                self.ctx.user
            ));
        }
        self.recheck_guards(dialog, &mut request);
        self.guarded(dialog, request)
    }

    /// Two-factor and approval as the dialog and the groups say now: an
    /// approver who has since left the approving groups no longer counts,
    /// and a dialog that has come to need a code asks for one (`guarded`
    /// then asks, or refuses a person no longer enrolled).
    fn recheck_guards(&mut self, dialog: &Dialog, request: &mut Request) {
        if !dialog.two_factor || !self.ctx.two_factor_enrolled {
            request.two_factor = false;
        }
        let Some(approval) = &dialog.approval else {
            return;
        };
        let groups = &self.project.settings.groups;
        if let Some(approver) = request.approved_by.clone() {
            if !opsbot_spec::access::member_of_any(groups, &approver, &approval.groups) {
                self.say(format!(
                    "{approver}, who approved it, is no longer a member of {}, so it needs approval again.",
                    self.approver_names(&dialog.name)
                ));
                request.approved_by = None;
            }
        }
    }
}

/// A confirmation template's question for a request that runs later: "Shall
/// I go ahead?" becomes "Shall I go ahead and schedule it for then?".
pub(super) fn scheduling(confirm: &str) -> String {
    match confirm.trim_end().strip_suffix("Shall I go ahead?") {
        Some(before) => format!("{before}Shall I go ahead and schedule it for then?"),
        None => confirm.to_string(),
    }
}
