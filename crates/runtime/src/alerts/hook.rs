//! A generic JSON webhook body turned into a notification by its hook's
//! templates (see `opsbot_spec::alerts::Hook`): one alert, firing unless the
//! hook's `resolved_when` field says otherwise, in the group its `group_by`
//! labels name. From there it is routed and grouped like any alert.

use chrono::{DateTime, Utc};
use opsbot_spec::alerts::Hook;
use serde_json::Value;

use super::notification::{Alert, AlertStatus, Labels, Notification};
use super::text::{cap, MAX_ANNOTATION_CHARS, MAX_LABEL_CHARS};

/// A field of the body as text: strings as they are, numbers and booleans
/// written out; objects, arrays and null are not values.
fn field(body: &Value, path: &[String]) -> Option<String> {
    let mut value = body;
    for key in path {
        value = match value {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The notification a hook makes of `body`; the error names the field the
/// body lacks.
pub fn hook_notification(
    hook: &Hook,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Notification, String> {
    let mut labels = Labels::new();
    for (name, template) in &hook.labels {
        let mut value = template
            .render(|path| field(body, path))
            .map_err(|missing| format!("the body has no field `{missing}`, which the hook `{}` needs for the label `{name}`", hook.name))?;
        // Cut before the group key is made of it, like any sender's labels.
        cap(&mut value, MAX_LABEL_CHARS);
        labels.insert(name.clone(), value);
    }
    let annotations: Labels = hook
        .annotations
        .iter()
        .filter_map(|(name, t)| {
            let mut text = t.render(|path| field(body, path)).ok()?;
            cap(&mut text, MAX_ANNOTATION_CHARS);
            Some((name.clone(), text))
        })
        .collect();
    let resolved = hook
        .resolved_when
        .as_ref()
        .is_some_and(|(path, values)| field(body, path).is_some_and(|v| values.contains(&v)));
    let status = if resolved {
        AlertStatus::Resolved
    } else {
        AlertStatus::Firing
    };
    let group: Vec<String> = hook
        .group_by
        .iter()
        .map(|name| format!("{name}={:?}", labels.get(name).map_or("", String::as_str)))
        .collect();
    let alert = Alert {
        status: status.clone(),
        labels: labels.clone(),
        annotations,
        starts_at: now,
        ends_at: resolved.then_some(now),
        generator_url: String::new(),
        fingerprint: String::new(),
    };
    Ok(Notification {
        version: "4".into(),
        group_key: format!("hook:{}:{{{}}}", hook.name, group.join(",")),
        receiver: hook.name.clone(),
        status,
        group_labels: hook
            .group_by
            .iter()
            .filter_map(|n| Some((n.clone(), labels.get(n)?.clone())))
            .collect(),
        common_labels: labels,
        common_annotations: Labels::new(),
        external_url: String::new(),
        alerts: vec![alert],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn hook(pack: &str) -> Hook {
        let project = opsbot_spec::load_project(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/packs")
                .join(pack),
        )
        .expect("the pack loads");
        project.settings.alerts.expect("alerts").hooks.remove(0)
    }

    #[test]
    fn a_hook_body_becomes_one_alert_of_a_stable_group_on_two_packs() {
        let now = Utc::now();
        let cases = [
            (
                "dbops",
                serde_json::json!({"database": "orders", "status": "failed", "error": "disk full"}),
                serde_json::json!({"database": "orders", "status": "ok"}),
                "backup of orders failed: disk full",
            ),
            (
                "cicd",
                serde_json::json!({"pipeline": {"name": "frontend", "stage": "test", "status": "failed"}, "run": {"id": 812}}),
                serde_json::json!({"pipeline": {"name": "frontend", "stage": "test", "status": "passed"}, "run": {"id": 813}}),
                "frontend failed in test (run 812)",
            ),
        ];
        for (pack, failed, passed, summary) in cases {
            let hook = hook(pack);
            let fired = hook_notification(&hook, &failed, now).unwrap();
            assert_eq!(fired.status, AlertStatus::Firing, "{pack}");
            assert_eq!(fired.alerts[0].annotations["summary"], summary, "{pack}");
            let resolved = hook_notification(&hook, &passed, now).unwrap();
            assert_eq!(resolved.status, AlertStatus::Resolved, "{pack}");
            assert_eq!(resolved.group_key, fired.group_key, "{pack}: one group");
            assert_eq!(
                resolved.alerts[0].identity(),
                fired.alerts[0].identity(),
                "{pack}: one alert"
            );
            assert!(resolved.check().is_ok(), "{pack}");
        }
    }

    #[test]
    fn a_body_without_a_label_field_is_refused_naming_it() {
        let error = hook_notification(
            &hook("cicd"),
            &serde_json::json!({"pipeline": {"stage": "test"}}),
            Utc::now(),
        )
        .unwrap_err();
        assert!(error.contains("no field `pipeline.name`"), "{error}");
        let error = hook_notification(
            &hook("dbops"),
            &serde_json::json!({"database": {"nested": 1}}),
            Utc::now(),
        )
        .unwrap_err();
        assert!(
            error.contains("no field `database`"),
            "objects are not values: {error}"
        );
    }
}
