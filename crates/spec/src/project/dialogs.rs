//! Dialogs: slots, templates, access rules, approval and the action they run.

use super::*;

pub(super) fn check_dialogs(
    root: &Path,
    settings: &Settings,
    files: &[(&SourceFile, raw::DialogFile)],
    entities: &BTreeMap<String, Entity>,
    intents: &BTreeMap<String, Intent>,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, Dialog> {
    let mut dialogs = BTreeMap::new();
    let mut intent_owner: BTreeMap<String, String> = BTreeMap::new();
    let entity_names: Vec<&str> = entities.keys().map(String::as_str).collect();
    let intent_names: Vec<&str> = intents.keys().map(String::as_str).collect();
    for (file, parsed) in files {
        for (name, raw) in &parsed.dialogs {
            let path = format!("dialogs.{name}");
            let at = file.index.locate(&path);
            let before = diagnostics.len();
            if dialogs.contains_key(name) {
                diagnostics.push(
                    at.clone(),
                    format!("dialog `{name}` is defined twice; expected each dialog once"),
                );
                continue;
            }
            let intent = raw.intent.clone().unwrap_or_else(|| name.clone());
            if !intents.contains_key(&intent) {
                diagnostics.push(
                    file.index.locate(&format!("{path}.intent")),
                    format!("dialog `{name}` starts on intent `{intent}`, which no file under intents/ defines; expected one of {}", join_or(&intent_names)),
                );
            } else if let Some(other) = intent_owner.insert(intent.clone(), name.clone()) {
                diagnostics.push(at.clone(), format!("intent `{intent}` already starts dialog `{other}`; expected one dialog per intent"));
            }
            let description = match &raw.description {
                Some(d) if !d.trim().is_empty() => d.trim().to_string(),
                _ => {
                    diagnostics.push(at.clone(), format!("dialog `{name}` has no `description`; expected one line for help, e.g. \"restart a service on a host\""));
                    String::new()
                }
            };

            let mut slots = Vec::new();
            let mut slot_names: Vec<String> = Vec::new();
            for (i, raw_slot) in raw.slots.iter().enumerate() {
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
                    diagnostics.push(slot_at.clone(), format!("`{slot_name}` is not a usable slot name; expected letters, digits, '_' or '-', not one of {}", join_or(&[CONTEXT_VARS, RESULT_VARS].concat())));
                }
                if slot_names.contains(&slot_name) {
                    diagnostics.push(slot_at.clone(), format!("slot `{slot_name}` appears twice in dialog `{name}`; expected unique slot names (use `name:` to tell them apart)"));
                }
                let entity = entities.get(&raw_slot.entity);
                if entity.is_none() {
                    diagnostics.push(
                        file.index.locate(&format!("{slot_path}.entity")),
                        format!(
                            "slot `{slot_name}` uses unknown entity `{}`; expected one of {}",
                            raw_slot.entity,
                            join_or(&entity_names)
                        ),
                    );
                }
                let limits =
                    check_limits(file, &slot_path, &slot_name, raw_slot, entity, diagnostics);
                if let (Some(default), Some(entity)) = (&raw_slot.default, entity) {
                    let frame = crate::types::TimeFrame::utc(chrono::Utc::now());
                    let checked = entity.validate(default, frame.now).and_then(|value| {
                        limits.check(&slot_name, entity.value_type(), &value, &frame)
                    });
                    if let Err(reason) = checked {
                        diagnostics.push(
                            file.index.locate(&format!("{slot_path}.default")),
                            format!("default of slot `{slot_name}` is invalid: {reason}"),
                        );
                    }
                }
                if raw_slot.prompt.is_none() && raw_slot.default.is_none() {
                    diagnostics.push(slot_at.clone(), format!("slot `{slot_name}` has no `prompt`; expected a question such as \"Which {}?\" (or a `default`)", raw_slot.entity));
                }
                slot_names.push(slot_name.clone());
                slots.push((slot_name, raw_slot, i, limits));
            }

            // Typed slots also offer their fields: {duration.seconds}, {when.unix}.
            let field_vars: Vec<String> = slots
                .iter()
                .filter_map(|(slot_name, raw_slot, _, _)| {
                    let t = entities.get(&raw_slot.entity)?.value_type()?;
                    Some(
                        t.field_names()
                            .iter()
                            .map(move |f| format!("{slot_name}.{f}")),
                    )
                })
                .flatten()
                .collect();
            let mut base_vars: Vec<&str> = slot_names.iter().map(String::as_str).collect();
            base_vars.extend(field_vars.iter().map(String::as_str));
            base_vars.extend_from_slice(CONTEXT_VARS);
            let mut result_vars = base_vars.clone();
            result_vars.extend_from_slice(RESULT_VARS);

            let slots: Vec<Slot> = slots
                .into_iter()
                .map(|(slot_name, raw_slot, i, limits)| Slot {
                    prompt: raw_slot.prompt.as_ref().and_then(|p| {
                        check_template(
                            file,
                            &format!("{path}.slots.{i}.prompt"),
                            p,
                            &base_vars,
                            diagnostics,
                        )
                    }),
                    name: slot_name,
                    entity: raw_slot.entity.clone(),
                    default: raw_slot.default.clone(),
                    carry_over: raw_slot.carry_over,
                    limits,
                    values_from: None,
                })
                .collect();
            let mut slots = slots;
            for (i, raw_slot) in raw.slots.iter().enumerate() {
                if let (Some(raw_from), Some(slot)) = (&raw_slot.values_from, slots.get_mut(i)) {
                    let at = format!("{path}.slots.{i}");
                    slot.values_from = values_from::check_values_from(
                        root,
                        settings,
                        file,
                        &at,
                        name,
                        raw_from,
                        &base_vars,
                        intents,
                        diagnostics,
                    );
                }
            }

            let confirm = raw.confirm.as_ref().and_then(|c| {
                check_template(file, &format!("{path}.confirm"), c, &base_vars, diagnostics)
            });

            let behaviour = match (&raw.action, &raw.reply) {
                (Some(_), Some(_)) => {
                    diagnostics.push(
                        at.clone(),
                        format!(
                            "dialog `{name}` has both `action` and `reply`; expected one of them"
                        ),
                    );
                    None
                }
                (None, None) => {
                    diagnostics.push(at.clone(), format!("dialog `{name}` has neither `action` nor `reply`; expected what the bot should do"));
                    None
                }
                (None, Some(reply)) => {
                    let mut vars = base_vars.clone();
                    vars.push(CAPABILITIES_VAR);
                    check_template(file, &format!("{path}.reply"), reply, &vars, diagnostics)
                        .map(Behaviour::Reply)
                }
                (Some(action), None) => {
                    let action = check_action(
                        root,
                        settings,
                        file,
                        &path,
                        "action",
                        name,
                        action,
                        &base_vars,
                        intents,
                        diagnostics,
                    );
                    if raw.allow.is_empty() {
                        diagnostics.push(at.clone(), format!("dialog `{name}` runs an action but does not say who may run it; expected `allow: [user, ...]` or `allow: [\"*\"]`"));
                    }
                    if raw.confirm.is_none() && !raw.read_only {
                        diagnostics.push(at.clone(), format!("dialog `{name}` runs an action without `confirm`; expected a confirmation template, or `read_only: true` if it changes nothing"));
                    }
                    let running = raw.running.as_ref().and_then(|t| {
                        check_template(file, &format!("{path}.running"), t, &base_vars, diagnostics)
                    });
                    let success = check_template(
                        file,
                        &format!("{path}.success"),
                        raw.success.as_deref().unwrap_or("Done: {output}"),
                        &result_vars,
                        diagnostics,
                    );
                    let failure = check_template(
                        file,
                        &format!("{path}.failure"),
                        raw.failure
                            .as_deref()
                            .unwrap_or("That failed (exit status {exit_code}): {output}"),
                        &result_vars,
                        diagnostics,
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
            };
            let preview = raw.preview.as_ref().and_then(|p| {
                let at = file.index.locate(&format!("{path}.preview"));
                if raw.action.is_none() {
                    diagnostics.push(at.clone(), format!("dialog `{name}` has a `preview` but no `action`; a preview shows what the action would do"));
                }
                match check_action(
                    root, settings, file, &path, "preview", name, p, &base_vars, intents,
                    diagnostics,
                ) {
                    Some(Action::Program(program)) => Some(program),
                    Some(_) => {
                        diagnostics.push(at, "`preview` must run a `program`; expected `program:` and `args:`");
                        None
                    }
                    None => None,
                }
            });
            let access = check_access(file, &path, raw, settings, &slot_names, diagnostics);
            let approval = raw.approval.as_ref().map(|a| {
                let at = file.index.locate(&format!("{path}.approval"));
                if a.groups.is_empty() {
                    diagnostics.push(
                        at.clone(),
                        "approval names no groups; expected `groups: [approvers]`",
                    );
                }
                check_groups(&a.groups, settings, &at, diagnostics);
                for slot in a.when.keys().filter(|s| !slot_names.contains(s)) {
                    diagnostics.push(
                        at.clone(),
                        format!(
                            "approval names unknown slot `{slot}`; expected one of {}",
                            join_or(&slot_names.iter().map(String::as_str).collect::<Vec<_>>())
                        ),
                    );
                }
                Approval {
                    groups: a.groups.iter().cloned().collect(),
                    when: a.when.clone(),
                }
            });
            if raw.action.is_none()
                && (raw.approval.is_some() || raw.two_factor || !raw.require.is_empty())
            {
                diagnostics.push(at.clone(), format!("dialog `{name}` only replies, so `approval`, `two_factor` and `require` have nothing to guard; expected them on dialogs with an action"));
            }
            if let (true, Some(behaviour)) = (diagnostics.len() == before, behaviour) {
                dialogs.insert(
                    name.clone(),
                    Dialog {
                        name: name.clone(),
                        intent,
                        description,
                        access,
                        approval,
                        two_factor: raw.two_factor,
                        read_only: raw.read_only,
                        slots,
                        confirm,
                        behaviour,
                        preview,
                    },
                );
            }
        }
    }
    dialogs
}

pub(super) fn check_groups(
    names: &[String],
    settings: &Settings,
    at: &Location,
    diagnostics: &mut Diagnostics,
) {
    if settings.unreadable {
        return;
    }
    let known: Vec<&str> = settings.groups.keys().map(String::as_str).collect();
    for group in names {
        if !settings.groups.contains_key(group) {
            diagnostics.push(
                at.clone(),
                format!(
                    "unknown group `{group}`; expected one of {} (define groups in opsbot.yaml)",
                    join_or(&known)
                ),
            );
        }
    }
}

pub(super) fn check_access(
    file: &SourceFile,
    path: &str,
    raw: &raw::RawDialog,
    settings: &Settings,
    slot_names: &[String],
    diagnostics: &mut Diagnostics,
) -> Access {
    let at = file.index.locate(&format!("{path}.allow"));
    let allow = if raw.allow.iter().any(|u| u == "*") || raw.action.is_none() {
        Allow::Everyone
    } else {
        let (groups, users): (Vec<&String>, Vec<&String>) =
            raw.allow.iter().partition(|u| u.starts_with("group:"));
        let groups: Vec<String> = groups
            .iter()
            .map(|g| g.trim_start_matches("group:").to_string())
            .collect();
        check_groups(&groups, settings, &at, diagnostics);
        Allow::Principals {
            users: settings.people.widen(&users.into_iter().cloned().collect()),
            groups: groups.into_iter().collect(),
        }
    };
    let mut requirements = Vec::new();
    for (i, requirement) in raw.require.iter().enumerate() {
        let at = file.index.locate(&format!("{path}.require.{i}"));
        for slot in requirement.when.keys() {
            if !slot_names.contains(slot) {
                let known: Vec<&str> = slot_names.iter().map(String::as_str).collect();
                diagnostics.push(
                    at.clone(),
                    format!(
                        "requirement names unknown slot `{slot}`; expected one of {}",
                        join_or(&known)
                    ),
                );
            }
        }
        if requirement.when.is_empty() || requirement.groups.is_empty() {
            diagnostics.push(
                at.clone(),
                "requirement needs `when: {slot: pattern}` and `groups: [...]`",
            );
        }
        check_groups(&requirement.groups, settings, &at, diagnostics);
        requirements.push(Requirement {
            when: requirement.when.clone(),
            groups: requirement.groups.iter().cloned().collect(),
        });
    }
    Access {
        allow,
        rooms: (!raw.rooms.is_empty()).then(|| raw.rooms.iter().cloned().collect()),
        requirements,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn check_action(
    root: &Path,
    settings: &Settings,
    file: &SourceFile,
    dialog_path: &str,
    field: &str,
    dialog: &str,
    raw: &raw::RawAction,
    vars: &[&str],
    intents: &BTreeMap<String, Intent>,
    diagnostics: &mut Diagnostics,
) -> Option<Action> {
    let path = format!("{dialog_path}.{field}");
    let at = file.index.locate(&path);
    match (&raw.program, &raw.show_audit) {
        (Some(_), Some(_)) | (None, None) => {
            diagnostics.push(at, format!("{field} of dialog `{dialog}` must have exactly one of `program` or `show_audit`"));
            None
        }
        (None, Some(show)) => {
            if let Some(intent) = show.intent.as_ref().filter(|i| !intents.contains_key(*i)) {
                diagnostics.push(
                    file.index.locate(&format!("{path}.show_audit.intent")),
                    format!(
                        "`show_audit` names unknown intent `{intent}`; expected an intent under intents/"
                    ),
                );
                return None;
            }
            let template = |field: &str, text: &Option<String>, diagnostics: &mut Diagnostics| {
                text.as_ref().and_then(|t| {
                    check_template(
                        file,
                        &format!("{path}.show_audit.{field}"),
                        t,
                        vars,
                        diagnostics,
                    )
                })
            };
            let user = template("user", &show.user, diagnostics);
            let since = template("since", &show.since, diagnostics);
            Some(Action::ShowAudit(ShowAudit {
                intent: show.intent.clone(),
                user,
                since,
                all_outcomes: show.all_outcomes,
                limit: show.limit.clamp(1, 50),
            }))
        }
        (Some(program), None) => {
            let before = diagnostics.len();
            let program_path = root.join(program);
            match std::fs::metadata(&program_path) {
                Ok(meta) if meta.is_file() => {
                    use std::os::unix::fs::PermissionsExt;
                    if meta.permissions().mode() & 0o111 == 0 {
                        diagnostics.push(file.index.locate(&format!("{path}.program")), format!("program `{program}` is not executable; expected `chmod +x {program}`"));
                    }
                }
                _ => diagnostics.push(file.index.locate(&format!("{path}.program")), format!("program `{program}` does not exist; expected a path relative to the project root")),
            }
            if guard::outside_project(root, &program_path)
                && !settings_allow_outside(settings, &program_path)
            {
                diagnostics.push(file.index.locate(&format!("{path}.program")), format!("program `{program}` lies outside the project folder; expected a script under the project, or list it in `programs_outside_project:` in opsbot.yaml"));
            }
            if !raw.unsafe_shell_command_string {
                let resolved =
                    std::fs::canonicalize(&program_path).unwrap_or_else(|_| program_path.clone());
                if let Some(problem) = guard::shell_string_problem(program, &resolved, &raw.args) {
                    diagnostics.push(file.index.locate(&format!("{path}.program")), problem);
                }
            }
            let args: Vec<Template> = raw
                .args
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    check_template(file, &format!("{path}.args.{i}"), a, vars, diagnostics)
                })
                .collect();
            let mut env = BTreeMap::new();
            for (key, value) in &raw.env {
                let valid = key.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                    && key
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    diagnostics.push(file.index.locate(&format!("{path}.env.{key}")), format!("`{key}` is not an environment variable name; expected capitals, digits and '_'"));
                }
                if let Some(t) =
                    check_template(file, &format!("{path}.env.{key}"), value, vars, diagnostics)
                {
                    env.insert(key.clone(), t);
                }
            }
            let timeout = match &raw.timeout {
                None => Duration::from_secs(60),
                Some(text) => match humantime::parse_duration(text) {
                    Ok(d) if guard::out_of_range(d, guard::TIMEOUT_RANGE).is_none() => d,
                    Ok(_) => {
                        let expected = guard::out_of_range(Duration::ZERO, guard::TIMEOUT_RANGE)
                            .unwrap_or_default();
                        diagnostics.push(
                            file.index.locate(&format!("{path}.timeout")),
                            format!("timeout `{text}` is out of range; {expected}"),
                        );
                        Duration::from_secs(60)
                    }
                    Err(_) => {
                        diagnostics.push(file.index.locate(&format!("{path}.timeout")), format!("`{text}` is not a timeout; expected a duration such as `30s` or `5m`"));
                        Duration::from_secs(60)
                    }
                },
            };
            let workdir = root.join(raw.workdir.as_deref().unwrap_or("."));
            if !workdir.is_dir() {
                diagnostics.push(file.index.locate(&format!("{path}.workdir")), format!("workdir `{}` is not a folder; expected a path relative to the project root", raw.workdir.as_deref().unwrap_or(".")));
            }
            (diagnostics.len() == before).then(|| {
                Action::Program(ProgramAction {
                    program: program_path,
                    program_display: program.clone(),
                    args,
                    env,
                    timeout,
                    workdir,
                })
            })
        }
    }
}
