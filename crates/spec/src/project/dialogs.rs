//! Dialogs: their intent, slots, templates, what they do (a reply or an
//! action, and a preview), and who may start them.

use super::checker::Checker;
use super::source::*;
use super::*;

/// A slot as checked so far: its name, as written, its place, its limits.
type CheckedSlot<'r> = (String, &'r raw::RawSlot, usize, Limits);

impl Checker<'_> {
    /// Every dialog that passes its checks; each intent starts one dialog.
    pub(super) fn check_dialogs(
        &mut self,
        files: &[(&SourceFile, raw::DialogFile)],
    ) -> BTreeMap<String, Dialog> {
        let mut dialogs = BTreeMap::new();
        let mut intent_owner: BTreeMap<String, String> = BTreeMap::new();
        for (file, parsed) in files {
            for (name, raw) in &parsed.dialogs {
                if dialogs.contains_key(name) {
                    self.diagnostics.push(
                        file.index.locate(&format!("dialogs.{name}")),
                        format!("dialog `{name}` is defined twice; expected each dialog once"),
                    );
                    continue;
                }
                if let Some(dialog) = self.check_dialog(file, name, raw, &mut intent_owner) {
                    dialogs.insert(name.clone(), dialog);
                }
            }
        }
        dialogs
    }

    /// One dialog, or `None` when any of its checks found a mistake.
    fn check_dialog(
        &mut self,
        file: &SourceFile,
        name: &str,
        raw: &raw::RawDialog,
        intent_owner: &mut BTreeMap<String, String>,
    ) -> Option<Dialog> {
        let path = format!("dialogs.{name}");
        let at = file.index.locate(&path);
        let before = self.diagnostics.len();
        let intent = self.check_dialog_intent(file, &path, name, raw, intent_owner);
        let description = match &raw.description {
            Some(d) if !d.trim().is_empty() => d.trim().to_string(),
            _ => {
                self.diagnostics.push(at.clone(), format!("dialog `{name}` has no `description`; expected one line for help, e.g. \"restart a service on a host\""));
                String::new()
            }
        };

        let mut checked: Vec<CheckedSlot> = Vec::new();
        let mut slot_names: Vec<String> = Vec::new();
        for (i, raw_slot) in raw.slots.iter().enumerate() {
            let (slot_name, limits) = self.check_slot(file, &path, name, i, raw_slot, &slot_names);
            slot_names.push(slot_name.clone());
            checked.push((slot_name, raw_slot, i, limits));
        }
        let field_vars = self.field_vars(&checked);
        let mut base_vars: Vec<&str> = slot_names.iter().map(String::as_str).collect();
        base_vars.extend(field_vars.iter().map(String::as_str));
        base_vars.extend_from_slice(CONTEXT_VARS);
        let mut result_vars = base_vars.clone();
        result_vars.extend_from_slice(RESULT_VARS);
        let slots = self.finish_slots(file, &path, name, checked, &base_vars);

        let confirm = raw
            .confirm
            .as_ref()
            .and_then(|c| self.check_template(file, &format!("{path}.confirm"), c, &base_vars));
        let behaviour = self.check_behaviour(file, &path, name, raw, &base_vars, &result_vars);
        let preview = self.check_preview(file, &path, name, raw, &base_vars);
        let access = self.check_access(file, &path, raw, &slot_names);
        let approval = self.check_approval(file, &path, raw, &slot_names);
        if raw.action.is_none()
            && raw.steps.is_none()
            && (raw.approval.is_some() || raw.two_factor || !raw.require.is_empty())
        {
            self.diagnostics.push(at, format!("dialog `{name}` only replies, so `approval`, `two_factor` and `require` have nothing to guard; expected them on dialogs with an action"));
        }
        let when_due = self.check_when_due(file, &path, &raw.schedulable.when_due);
        if raw.schedulable.on && ((raw.action.is_none() && raw.steps.is_none()) || raw.read_only) {
            self.diagnostics.push(
                file.index.locate(&format!("{path}.schedulable")),
                format!("dialog `{name}` changes nothing, so `schedulable` has nothing to run later; expected it on dialogs whose action changes something (a lookup runs as things are now)"),
            );
        }
        let lock = raw.lock.as_ref().and_then(|lock| {
            let lock_path = format!("{path}.lock");
            if raw.steps.is_none() {
                self.diagnostics.push(file.index.locate(&lock_path), format!("dialog `{name}` has a `lock` but no `steps`; a lock keeps two runs of a runbook on one target apart"));
            }
            let slots: Vec<&str> = slot_names.iter().map(String::as_str).collect();
            let template = self.check_template(file, &lock_path, lock, &slots)?;
            if !template.has_placeholders() && lock.trim().is_empty() {
                self.diagnostics.push(file.index.locate(&lock_path), "the lock is empty; expected a template such as \"{cluster}\"");
            }
            Some(template)
        });
        let behaviour = behaviour.filter(|_| self.diagnostics.len() == before)?;
        Some(Dialog {
            name: name.to_string(),
            intent,
            description,
            access,
            approval,
            two_factor: raw.two_factor,
            read_only: raw.read_only,
            schedulable: raw.schedulable.on,
            when_due,
            slots,
            confirm,
            behaviour,
            preview,
            lock,
        })
    }

    /// The intent a dialog starts on exists and starts no other dialog.
    fn check_dialog_intent(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawDialog,
        intent_owner: &mut BTreeMap<String, String>,
    ) -> String {
        let intent = raw.intent.clone().unwrap_or_else(|| name.to_string());
        if !self.intents.contains_key(&intent) {
            let intent_names: Vec<&str> = self.intents.keys().map(String::as_str).collect();
            self.diagnostics.push(
                file.index.locate(&format!("{path}.intent")),
                format!("dialog `{name}` starts on intent `{intent}`, which no file under intents/ defines; expected one of {}", join_or(&intent_names)),
            );
        } else if let Some(other) = intent_owner.insert(intent.clone(), name.to_string()) {
            self.diagnostics.push(file.index.locate(path), format!("intent `{intent}` already starts dialog `{other}`; expected one dialog per intent"));
        }
        intent
    }

    /// One slot's name, entity, limits, default and prompt (its prompt's
    /// template is checked once every slot's name is known).
    fn check_slot(
        &mut self,
        file: &SourceFile,
        path: &str,
        dialog: &str,
        i: usize,
        raw_slot: &raw::RawSlot,
        earlier: &[String],
    ) -> (String, Limits) {
        let slot_path = format!("{path}.slots.{i}");
        let slot_at = file.index.locate(&slot_path);
        let slot_name = raw_slot
            .name
            .clone()
            .unwrap_or_else(|| raw_slot.entity.clone());
        if !is_identifier(&slot_name)
            || CONTEXT_VARS.contains(&slot_name.as_str())
            || RESULT_VARS.contains(&slot_name.as_str())
        {
            self.diagnostics.push(slot_at.clone(), format!("`{slot_name}` is not a usable slot name; expected letters, digits, '_' or '-', not one of {}", join_or(&[CONTEXT_VARS, RESULT_VARS].concat())));
        }
        if earlier.contains(&slot_name) {
            self.diagnostics.push(slot_at.clone(), format!("slot `{slot_name}` appears twice in dialog `{dialog}`; expected unique slot names (use `name:` to tell them apart)"));
        }
        if !self.entities.contains_key(&raw_slot.entity) {
            let entity_names: Vec<&str> = self.entities.keys().map(String::as_str).collect();
            self.diagnostics.push(
                file.index.locate(&format!("{slot_path}.entity")),
                format!(
                    "slot `{slot_name}` uses unknown entity `{}`; expected one of {}",
                    raw_slot.entity,
                    join_or(&entity_names)
                ),
            );
        }
        let limits = self.check_limits(file, &slot_path, &slot_name, raw_slot);
        self.check_slot_default(file, &slot_path, &slot_name, raw_slot, &limits);
        if raw_slot.prompt.is_none() && raw_slot.default.is_none() {
            self.diagnostics.push(slot_at, format!("slot `{slot_name}` has no `prompt`; expected a question such as \"Which {}?\" (or a `default`)", raw_slot.entity));
        }
        (slot_name, limits)
    }

    /// A default is a value of the slot's entity within its limits.
    fn check_slot_default(
        &mut self,
        file: &SourceFile,
        slot_path: &str,
        slot_name: &str,
        raw_slot: &raw::RawSlot,
        limits: &Limits,
    ) {
        let (Some(default), Some(entity)) =
            (&raw_slot.default, self.entities.get(&raw_slot.entity))
        else {
            return;
        };
        let frame = crate::types::TimeFrame::utc(chrono::Utc::now());
        let checked = entity
            .validate(default, frame.now)
            .and_then(|value| limits.check(slot_name, entity.value_type(), &value, &frame));
        if let Err(reason) = checked {
            self.diagnostics.push(
                file.index.locate(&format!("{slot_path}.default")),
                format!("default of slot `{slot_name}` is invalid: {reason}"),
            );
        }
    }

    /// Typed slots also offer their fields: {duration.seconds}, {when.unix}.
    fn field_vars(&self, slots: &[CheckedSlot]) -> Vec<String> {
        slots
            .iter()
            .filter_map(|(slot_name, raw_slot, _, _)| {
                let t = self.entities.get(&raw_slot.entity)?.value_type()?;
                Some(
                    t.field_names()
                        .iter()
                        .map(move |f| format!("{slot_name}.{f}")),
                )
            })
            .flatten()
            .collect()
    }

    /// The slots with their prompts, then their `values_from`, checked
    /// against every slot of the dialog.
    fn finish_slots(
        &mut self,
        file: &SourceFile,
        path: &str,
        dialog: &str,
        checked: Vec<CheckedSlot>,
        vars: &[&str],
    ) -> Vec<Slot> {
        let mut slots = Vec::new();
        let mut lookups = Vec::new();
        for (slot_name, raw_slot, i, limits) in checked {
            let prompt = raw_slot.prompt.as_ref().and_then(|p| {
                self.check_template(file, &format!("{path}.slots.{i}.prompt"), p, vars)
            });
            lookups.push((i, &raw_slot.values_from));
            slots.push(Slot {
                prompt,
                name: slot_name,
                entity: raw_slot.entity.clone(),
                default: raw_slot.default.clone(),
                carry_over: raw_slot.carry_over,
                limits,
                values_from: None,
            });
        }
        for (i, raw_from) in lookups {
            if let (Some(raw_from), Some(slot)) = (raw_from, slots.get_mut(i)) {
                let at = format!("{path}.slots.{i}");
                slot.values_from = self.check_values_from(file, &at, dialog, raw_from, vars);
            }
        }
        slots
    }

    /// A reply, or an action with its running, success and failure messages.
    fn check_behaviour(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawDialog,
        base_vars: &[&str],
        result_vars: &[&str],
    ) -> Option<Behaviour> {
        let at = file.index.locate(path);
        if let Some(steps) = &raw.steps {
            if raw.action.is_some() || raw.reply.is_some() {
                self.diagnostics.push(at, format!("dialog `{name}` has `steps` and also `action` or `reply`; expected one of them"));
                return None;
            }
            let (runbook, extra) = self.check_runbook(file, path, name, raw, steps, base_vars)?;
            let mut vars = result_vars.to_vec();
            vars.extend(extra.iter().map(String::as_str));
            let action = Some(Action::Runbook(runbook));
            return self.check_run(file, path, name, raw, action, base_vars, &vars);
        }
        if !raw.rollback.is_empty() {
            self.diagnostics.push(file.index.locate(&format!("{path}.rollback")), format!("dialog `{name}` has `rollback` but no `steps`; rollback steps undo a runbook's steps"));
        }
        match (&raw.action, &raw.reply) {
            (Some(_), Some(_)) => {
                self.diagnostics.push(
                    at,
                    format!("dialog `{name}` has both `action` and `reply`; expected one of them"),
                );
                None
            }
            (None, None) => {
                self.diagnostics.push(at, format!("dialog `{name}` has neither `action` nor `reply`; expected what the bot should do"));
                None
            }
            (None, Some(reply)) => {
                let mut vars = base_vars.to_vec();
                vars.push(CAPABILITIES_VAR);
                self.check_template(file, &format!("{path}.reply"), reply, &vars)
                    .map(Behaviour::Reply)
            }
            (Some(action), None) => {
                let action = self.check_action(file, path, "action", name, action, base_vars);
                self.check_run(file, path, name, raw, action, base_vars, result_vars)
            }
        }
    }

    /// A dialog that runs an action: who may, a confirmation, its messages.
    #[allow(clippy::too_many_arguments)]
    fn check_run(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawDialog,
        action: Option<Action>,
        base_vars: &[&str],
        result_vars: &[&str],
    ) -> Option<Behaviour> {
        let at = file.index.locate(path);
        let runbook = matches!(action, Some(Action::Runbook(_)));
        if raw.allow.is_empty() {
            self.diagnostics.push(at.clone(), format!("dialog `{name}` runs an action but does not say who may run it; expected `allow: [user, ...]` or `allow: [\"*\"]`"));
        }
        if raw.confirm.is_none() && !raw.read_only {
            self.diagnostics.push(at, format!("dialog `{name}` runs an action without `confirm`; expected a confirmation template, or `read_only: true` if it changes nothing"));
        }
        let running = raw
            .running
            .as_ref()
            .and_then(|t| self.check_template(file, &format!("{path}.running"), t, base_vars));
        let (default_success, default_failure) = if runbook {
            (
                "Done in {duration}.",
                "{failed_step} failed (exit status {exit_code}): {output}",
            )
        } else {
            (
                "Done: {output}",
                "That failed (exit status {exit_code}): {output}",
            )
        };
        let success = self.check_template(
            file,
            &format!("{path}.success"),
            raw.success.as_deref().unwrap_or(default_success),
            result_vars,
        );
        let failure = self.check_template(
            file,
            &format!("{path}.failure"),
            raw.failure.as_deref().unwrap_or(default_failure),
            result_vars,
        );
        match (action, success, failure) {
            (Some(action), Some(success), Some(failure)) => Some(Behaviour::Run {
                action,
                running,
                success,
                failure,
            }),
            _ => None,
        }
    }

    /// A preview runs a program, and only beside an action.
    fn check_preview(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawDialog,
        vars: &[&str],
    ) -> Option<ProgramAction> {
        let preview = raw.preview.as_ref()?;
        let at = file.index.locate(&format!("{path}.preview"));
        if raw.action.is_none() && raw.steps.is_none() {
            self.diagnostics.push(at.clone(), format!("dialog `{name}` has a `preview` but no `action`; a preview shows what the action would do"));
        }
        match self.check_action(file, path, "preview", name, preview, vars) {
            Some(Action::Program(program)) => Some(program),
            Some(_) => {
                self.diagnostics.push(
                    at,
                    "`preview` must run a `program`; expected `program:` and `args:`",
                );
                None
            }
            None => None,
        }
    }
}

impl Checker<'_> {
    /// `schedulable:` as a mapping: the missed policy, the grace, a fresh
    /// confirmation.
    fn check_when_due(&mut self, file: &SourceFile, path: &str, raw: &raw::RawWhenDue) -> WhenDue {
        let mut when_due = WhenDue {
            confirm: raw.confirm_when_due,
            ..WhenDue::default()
        };
        match raw.missed.as_deref() {
            None => {}
            Some("run") => when_due.missed = Missed::Run,
            Some("skip") => when_due.missed = Missed::Skip,
            Some("ask") => when_due.missed = Missed::Ask,
            Some(other) => self.diagnostics.push(
                file.index.locate(&format!("{path}.schedulable.missed")),
                format!("`missed: {other}` is not a policy; expected `run`, `skip` or `ask`"),
            ),
        }
        if let Some(text) = &raw.grace {
            match humantime::parse_duration(text) {
                Ok(grace)
                    if grace >= Duration::from_secs(60)
                        && grace <= Duration::from_secs(24 * 3600) =>
                {
                    when_due.grace = grace
                }
                _ => self.diagnostics.push(
                    file.index.locate(&format!("{path}.schedulable.grace")),
                    format!("grace `{text}` is not a duration from 1m to 24h; expected e.g. `10m`"),
                ),
            }
        }
        when_due
    }
}
