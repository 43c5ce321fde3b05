//! Dialogs as MCP tools and the runtime's answers as tool results: the input
//! schema of a dialog's tool is its slots (JSON type, listed values, bounds,
//! default, which are required); a result says in words what happened and
//! carries the API's JSON as structured content.

use std::sync::Arc;

use opsbot_runtime::proposal::{Given, Proposed, RequestStatus};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Value};

use super::STATUS_TOOL;
use crate::dialogs::DialogInfo;

/// The tools for `dialogs`, then `request_status`.
pub(super) fn listed(dialogs: &[DialogInfo]) -> Vec<Tool> {
    dialogs
        .iter()
        .filter(|d| d.name != STATUS_TOOL)
        .map(tool_of)
        .chain(std::iter::once(status_tool()))
        .collect()
}

fn tool_of(dialog: &DialogInfo) -> Tool {
    let mut properties = serde_json::Map::new();
    for slot in &dialog.slots {
        let mut property = json!({ "type": slot.kind, "description": slot.description });
        if let Some(values) = &slot.values {
            property["enum"] = json!(values);
        }
        if let Some(minimum) = slot.minimum {
            property["minimum"] = json!(minimum);
        }
        if let Some(maximum) = slot.maximum {
            property["maximum"] = json!(maximum);
        }
        if let Some(default) = &slot.default {
            // The default in the slot's own JSON type ("6" of an integer is 6).
            property["default"] = match slot.kind.as_str() {
                "integer" => default.parse::<i64>().map_or(json!(default), |n| json!(n)),
                "number" => default.parse::<f64>().map_or(json!(default), |n| json!(n)),
                _ => json!(default),
            };
        }
        properties.insert(slot.name.clone(), property);
    }
    let required: Vec<&str> = dialog
        .slots
        .iter()
        .filter(|s| s.required)
        .map(|s| s.name.as_str())
        .collect();
    let schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    let description = if dialog.read_only {
        format!(
            "{} (read-only: answers directly).",
            capitalised(&dialog.description)
        )
    } else {
        format!(
            "{}. Proposes it in the chat room of the person this token acts for; it runs only \
             after a person there confirms it. Returns the request's id: follow it with {STATUS_TOOL}.",
            capitalised(&dialog.description)
        )
    };
    let annotations = ToolAnnotations::default()
        .read_only(dialog.read_only)
        .destructive(!dialog.read_only);
    Tool::new(dialog.name.clone(), description, object(schema)).with_annotations(annotations)
}

fn status_tool() -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "id": { "type": "string", "description": "The id a proposal returned" }
        },
        "required": ["id"],
        "additionalProperties": false,
    });
    Tool::new(
        STATUS_TOOL,
        "Where a proposed request stands: asking, awaiting confirmation, code or approval, \
         scheduled, running, or ended with its outcome and who confirmed or declined it.",
        object(schema),
    )
    .with_annotations(ToolAnnotations::default().read_only(true))
}

fn object(schema: Value) -> Arc<JsonObject> {
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("a schema is built as an object"),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A call of the tool `name` as a dialog and its values.
pub(super) fn given(name: &str, arguments: &JsonObject) -> Result<Given, String> {
    let mut slots = std::collections::BTreeMap::new();
    for (slot, value) in arguments {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            other => {
                return Err(format!(
                    "the value of {slot} must be a string or a number, not {other}"
                ))
            }
        };
        slots.insert(slot.clone(), text);
    }
    Ok(Given {
        dialog: name.to_string(),
        slots,
    })
}

/// A tool result that reports a refusal or a failure.
pub(super) fn failed(why: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why)])
}

pub(super) fn proposed_result(proposed: &Proposed) -> CallToolResult {
    let structured = serde_json::to_value(proposed).expect("a proposal serialises");
    let (text, refused) = match proposed {
        Proposed::Posted { id, state, said, .. } => (
            format!(
                "Proposed as request {id}; it is {} and nothing runs until a person confirms it \
                 in the room. The bot said there: {}\nCall {STATUS_TOOL} with id {id} to follow it.",
                state_words(*state),
                said.join(" ")
            ),
            false,
        ),
        Proposed::Answered { said, .. } => (said.join("\n"), false),
        Proposed::Refused { refusal, reason } => {
            (format!("Refused ({}): {reason}", refusal.as_str()), true)
        }
    };
    let mut result = if refused {
        CallToolResult::structured_error(structured)
    } else {
        CallToolResult::structured(structured)
    };
    result.content = vec![ContentBlock::text(text)];
    result
}

pub(super) fn status_result(status: &RequestStatus) -> CallToolResult {
    let structured = serde_json::to_value(status).expect("a status serialises");
    let mut text = format!(
        "Request {} ({}): {}",
        status.id,
        status.dialog,
        state_words(status.state)
    );
    if let Some(outcome) = &status.outcome {
        text.push_str(&format!(
            ", {}",
            serde_json::to_value(outcome)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("ended")
        ));
    }
    for (label, who) in [
        ("confirmed by", &status.confirmed_by),
        ("declined by", &status.declined_by),
        ("approved by", &status.approved_by),
    ] {
        if let Some(who) = who {
            text.push_str(&format!(", {label} {who}"));
        }
    }
    if let Some(detail) = &status.detail {
        text.push_str(&format!(". {detail}"));
    }
    let mut result = CallToolResult::structured(structured);
    result.content = vec![ContentBlock::text(text)];
    result
}

fn state_words(state: opsbot_runtime::proposal::RequestState) -> &'static str {
    use opsbot_runtime::proposal::RequestState::*;
    match state {
        Asking => "waiting for the person to give a value",
        AwaitingConfirmation => "awaiting the person's confirmation",
        AwaitingCode => "awaiting the person's two-factor code",
        AwaitingApproval => "awaiting approval",
        Scheduled => "scheduled",
        Running => "running",
        Ended => "ended",
    }
}
