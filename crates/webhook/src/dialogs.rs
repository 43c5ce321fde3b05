//! What a token may ask for, described for programs: each dialog with its
//! slots — their JSON type, the values a closed list allows, bounds and a
//! description a person or a model can follow. `GET /v1/dialogs` answers
//! with it and the MCP tools' input schemas are made from it, so both doors
//! describe a dialog the same way.

use opsbot_runtime::proposal::Scope;
use opsbot_spec::{Dialog, Project, ValueType};
use serde::{Deserialize, Serialize};

/// A closed list longer than this is described, not enumerated.
const MAX_LISTED: usize = 200;

/// A slot of a dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlotInfo {
    pub name: String,
    pub entity: String,
    /// Whether a request must give it (it has no default).
    pub required: bool,
    /// The JSON type a value is given as: `string`, `integer` or `number`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What the slot takes, in words, with its limits.
    pub description: String,
    /// The only values it takes, when they are a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A dialog a token may ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DialogInfo {
    pub name: String,
    pub intent: String,
    pub description: String,
    /// It only answers; a change is confirmed by the person in the room.
    pub read_only: bool,
    pub slots: Vec<SlotInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DialogList {
    pub dialogs: Vec<DialogInfo>,
}

/// The dialogs of `project` that `scope` covers, described.
pub fn dialogs_for(project: &Project, scope: &Scope) -> Vec<DialogInfo> {
    project
        .dialogs
        .values()
        .filter(|d| scope.covers(d))
        .map(|d| describe(project, d))
        .collect()
}

fn describe(project: &Project, dialog: &Dialog) -> DialogInfo {
    let slots = dialog
        .slots
        .iter()
        .map(|slot| {
            let entity = project.entities.get(&slot.entity);
            let value_type = entity.and_then(|e| e.value_type());
            let kind = match value_type {
                Some(ValueType::Integer) => "integer",
                Some(ValueType::Number) => "number",
                _ => "string",
            };
            let numeric = matches!(value_type, Some(ValueType::Integer | ValueType::Number));
            let mut description = entity.map_or(slot.entity.clone(), |e| e.description.clone());
            if let Some(limits) = slot.limits.describe(&slot.name, value_type) {
                description = format!("{description} ({limits})");
            }
            let values = entity.filter(|e| e.is_closed()).and_then(|e| {
                let listed: Vec<String> = e.canonical_values().map(str::to_string).collect();
                (listed.len() <= MAX_LISTED).then_some(listed)
            });
            SlotInfo {
                name: slot.name.clone(),
                entity: slot.entity.clone(),
                required: slot.default.is_none(),
                kind: kind.into(),
                description,
                values,
                minimum: slot.limits.min.filter(|_| numeric),
                maximum: slot.limits.max.filter(|_| numeric),
                default: slot.default.clone(),
            }
        })
        .collect();
    DialogInfo {
        name: dialog.name.clone(),
        intent: dialog.intent.clone(),
        description: dialog.description.clone(),
        read_only: opsbot_runtime::proposal::changes_nothing(dialog),
        slots,
    }
}
