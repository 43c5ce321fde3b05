//! Generic JSON webhooks (`alerts.hooks`): a CI system, a deploy tool or a
//! ticket tracker posts its own JSON to `/hooks/NAME`; the hook's templates
//! turn it into one alert (labels, annotations, firing or resolved) that is
//! routed, grouped and edited like Alertmanager's.
//!
//! ```yaml
//! hooks:
//!   ci:
//!     labels: { alertname: BuildFailed, pipeline: '{pipeline.name}', source: ci }
//!     annotations: { summary: '{pipeline.name} failed at {stage}' }
//!     group_by: [alertname, pipeline]
//!     resolved_when: { field: status, is: [success, fixed] }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::template::{fill, pieces, Piece};
use crate::diag::{Diagnostics, PositionIndex};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHook {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub group_by: Vec<String>,
    pub resolved_when: Option<RawResolvedWhen>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResolvedWhen {
    pub field: String,
    pub is: Vec<String>,
}

/// `{a.b.c}` (a field of the posted JSON, `| host` to drop a port) amid text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTemplate {
    parts: Vec<Piece<Vec<String>>>,
}

impl FieldTemplate {
    pub fn parse(text: &str) -> Result<FieldTemplate, String> {
        let parts = pieces(text, |path| {
            let segments: Vec<String> = path.split('.').map(str::to_string).collect();
            if segments
                .iter()
                .any(|p| p.is_empty() || p.contains(char::is_whitespace))
            {
                return Err(format!(
                    "`{{{path}}}` is not a field path; expected e.g. `{{pipeline.name}}`"
                ));
            }
            Ok(segments)
        })?;
        Ok(FieldTemplate { parts })
    }

    /// The text with each field looked up; `Err(path)` names the first missing field.
    pub fn render(&self, lookup: impl Fn(&[String]) -> Option<String>) -> Result<String, String> {
        fill(&self.parts, |path| lookup(path)).map_err(|path| path.join("."))
    }
}

#[derive(Debug, Clone)]
pub struct Hook {
    pub name: String,
    /// Label name → template; `alertname` is always among them.
    pub labels: Vec<(String, FieldTemplate)>,
    pub annotations: Vec<(String, FieldTemplate)>,
    /// The labels whose values make one group (default: all of them).
    pub group_by: Vec<String>,
    /// The alert is resolved when this field holds one of these values.
    pub resolved_when: Option<(Vec<String>, Vec<String>)>,
}

pub(crate) fn check_hooks(
    raw: BTreeMap<String, RawHook>,
    index: &PositionIndex,
    diagnostics: &mut Diagnostics,
) -> Vec<Hook> {
    let mut hooks = Vec::new();
    for (name, hook) in raw {
        let at = format!("alerts.hooks.{name}");
        if !crate::annotation::is_identifier(&name) {
            diagnostics.push(index.locate(&at), format!("`{name}` is not a valid hook name; expected letters, digits, '_' or '-' (it is the path /hooks/{name})"));
        }
        let mut templates =
            |map: BTreeMap<String, String>, what: &str| -> Vec<(String, FieldTemplate)> {
                map.into_iter()
                    .filter_map(|(key, text)| match FieldTemplate::parse(&text) {
                        Ok(t) => Some((key, t)),
                        Err(why) => {
                            diagnostics.push(index.locate(&format!("{at}.{what}.{key}")), why);
                            None
                        }
                    })
                    .collect()
            };
        let labels = templates(hook.labels, "labels");
        let annotations = templates(hook.annotations, "annotations");
        if !labels.iter().any(|(k, _)| k == "alertname") {
            diagnostics.push(index.locate(&at), format!("hook `{name}` gives no `alertname` label; expected `labels: {{ alertname: … }}`"));
        }
        for (i, label) in hook.group_by.iter().enumerate() {
            if !labels.iter().any(|(k, _)| k == label) {
                diagnostics.push(
                    index.locate(&format!("{at}.group_by.{i}")),
                    format!("hook `{name}` groups by `{label}`, which is none of its labels"),
                );
            }
        }
        let group_by = if hook.group_by.is_empty() {
            labels.iter().map(|(k, _)| k.clone()).collect()
        } else {
            hook.group_by
        };
        let resolved_when = hook
            .resolved_when
            .map(|r| (r.field.split('.').map(str::to_string).collect(), r.is));
        hooks.push(Hook {
            name,
            labels,
            annotations,
            group_by,
            resolved_when,
        });
    }
    hooks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_templates_look_up_paths_and_name_what_is_missing() {
        let lookup = |path: &[String]| match path.join(".").as_str() {
            "pipeline.name" => Some("frontend".to_string()),
            "host" => Some("web-01:443".to_string()),
            _ => None,
        };
        let render = |t: &str| FieldTemplate::parse(t).unwrap().render(lookup);
        assert_eq!(
            render("{pipeline.name} failed").as_deref(),
            Ok("frontend failed")
        );
        assert_eq!(render("{ host | host }").as_deref(), Ok("web-01"));
        assert_eq!(render("{pipeline.id}"), Err("pipeline.id".to_string()));
        for bad in ["{pipeline", "{pipe line}", "{a..b}", "{a | upper}"] {
            assert!(FieldTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
