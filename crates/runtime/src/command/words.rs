//! The words of the bot's own commands (as opposed to the dialog vocabulary
//! of `opsbot_dialog::phrases`): approving or denying someone's request, a
//! dry run, reloading the model.

use opsbot_dialog::phrases::{normalise, strip_politeness};

/// "approve", "approve 7f3a", "deny 7f3a": a decision on a request awaiting
/// approval. Only these explicit verbs: yes words such as "lgtm" or "approved"
/// answer the speaker's own questions and are never someone else's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalCommand {
    pub approve: bool,
    /// The request's short id, when given.
    pub code: Option<String>,
}

pub fn approval_command(text: &str) -> Option<ApprovalCommand> {
    let norm = normalise(text);
    let mut words = norm.split(' ');
    let approve = match words.next()? {
        "approve" => true,
        "deny" | "reject" | "decline" => false,
        _ => return None,
    };
    let code = match (words.next(), words.next()) {
        (None, _) => None,
        (Some(code), None) if code.len() >= 4 && code.chars().all(|c| c.is_ascii_hexdigit()) => {
            Some(code.to_string())
        }
        _ => return None,
    };
    Some(ApprovalCommand { approve, code })
}

/// "dry run: deploy shop 1.2 to staging" → (true, "deploy shop 1.2 to staging").
pub fn strip_dry_run(text: &str) -> (bool, &str) {
    let trimmed = text.trim_start();
    for prefix in ["dry run", "dry-run", "dryrun"] {
        if let Some(head) = trimmed.get(..prefix.len()) {
            if head.eq_ignore_ascii_case(prefix) {
                let rest = trimmed[prefix.len()..].trim_start_matches([':', ',', '-', ' ']);
                if rest.len() < trimmed.len() - prefix.len() || rest.is_empty() {
                    return (true, rest);
                }
            }
        }
    }
    (false, text)
}

/// "reload the model", "refresh model": an admin's request to load the newest
/// trained model without restarting the bot.
pub fn is_reload_command(text: &str) -> bool {
    let norm = normalise(text);
    let core = strip_politeness(&norm);
    let core = core.trim_start_matches("opsbot ");
    matches!(
        core,
        "reload model"
            | "reload the model"
            | "refresh model"
            | "refresh the model"
            | "reload the intent model"
            | "reload intents"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_commands() {
        assert_eq!(
            approval_command("approve"),
            Some(ApprovalCommand {
                approve: true,
                code: None
            })
        );
        assert_eq!(
            approval_command("Approve 7F3A"),
            Some(ApprovalCommand {
                approve: true,
                code: Some("7f3a".into())
            })
        );
        assert_eq!(
            approval_command("deny 7f3a"),
            Some(ApprovalCommand {
                approve: false,
                code: Some("7f3a".into())
            })
        );
        assert_eq!(approval_command("approve the deploy"), None);
        for yes_word in ["lgtm", "approved", "LGTM 7f3a", "denied", "rejected"] {
            assert_eq!(approval_command(yes_word), None, "{yes_word}");
        }
        assert_eq!(approval_command("deploy"), None);
    }

    #[test]
    fn dry_run_prefix() {
        assert_eq!(strip_dry_run("dry run: deploy shop"), (true, "deploy shop"));
        assert_eq!(strip_dry_run("Dry-run deploy shop"), (true, "deploy shop"));
        assert_eq!(strip_dry_run("dryrunner"), (false, "dryrunner"));
        assert_eq!(strip_dry_run("deploy shop"), (false, "deploy shop"));
    }

    #[test]
    fn reload_requests() {
        assert!(is_reload_command("reload the model please"));
        assert!(is_reload_command("Refresh model!"));
        assert!(!is_reload_command("reload nginx"));
    }
}
