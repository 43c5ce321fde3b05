//! Bot replies as Matrix messages: a plain `body` plus an HTML `formatted_body`
//! (prose as text with line breaks, "• " lines as a list, command output —
//! indented, tabbed or column-aligned lines — in a code block), a mention of
//! the requester in group rooms, and the thread of the user's message when
//! there was one.

use matrix_sdk::ruma::events::relation::Thread;
use matrix_sdk::ruma::events::room::message::{Relation, RoomMessageEventContent};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::{OwnedEventId, OwnedUserId};

/// Replies longer than this are cut, with a note.
pub const MAX_REPLY_CHARS: usize = 6000;

pub struct Addressee<'a> {
    pub user_id: &'a OwnedUserId,
    pub name: &'a str,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Cuts an over-long reply on a character boundary and says so.
pub fn truncate(reply: &str) -> String {
    if reply.chars().count() <= MAX_REPLY_CHARS {
        return reply.to_string();
    }
    let kept: String = reply.chars().take(MAX_REPLY_CHARS).collect();
    format!("{kept}\n… (truncated; the full record is in `opsbot audit`)")
}

/// How a line of a reply is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Prose,
    Bullet,
    Output,
}

fn kind(line: &str) -> Line {
    if line.starts_with("• ") || line.starts_with("- ") || line.starts_with("* ") {
        Line::Bullet
    } else if line.starts_with([' ', '\t'])
        || line.contains('\t')
        || line.contains("  ")
        || line.contains(['│', '─', '┌', '└', '├'])
    {
        Line::Output
    } else {
        Line::Prose
    }
}

/// The reply as HTML, run of lines by run of lines.
fn html_of(reply: &str) -> String {
    let lines: Vec<&str> = reply.lines().collect();
    let mut html = String::new();
    let mut i = 0;
    while i < lines.len() {
        let run_kind = kind(lines[i]);
        let end = (i..lines.len())
            .find(|&j| kind(lines[j]) != run_kind)
            .unwrap_or(lines.len());
        let run = &lines[i..end];
        match run_kind {
            Line::Prose => {
                if !html.is_empty() && !html.ends_with('>') {
                    html.push_str("<br>");
                }
                let text: Vec<String> = run.iter().map(|l| escape(l)).collect();
                html.push_str(&text.join("<br>"));
            }
            Line::Bullet => {
                html.push_str("<ul>");
                for line in run {
                    html.push_str(&format!(
                        "<li>{}</li>",
                        escape(line[line.find(' ').unwrap_or(0)..].trim_start())
                    ));
                }
                html.push_str("</ul>");
            }
            Line::Output => {
                html.push_str(&format!(
                    "<pre><code>{}</code></pre>",
                    escape(&run.join("\n"))
                ));
            }
        }
        i = end;
    }
    html
}

/// The plain body and its HTML, with the mention in front of both.
pub fn bodies(reply: &str, mention: Option<&Addressee<'_>>) -> (String, String) {
    let reply = truncate(reply);
    let mut plain = String::new();
    let mut html = String::new();
    if let Some(m) = mention {
        plain.push_str(&format!("{}: ", m.name));
        html.push_str(&format!(
            "<a href=\"https://matrix.to/#/{}\">{}</a>: ",
            link_part(m.user_id.as_str()),
            escape(m.name)
        ));
    }
    plain.push_str(&reply);
    html.push_str(&html_of(&reply));
    (plain, html)
}

pub fn content(
    reply: &str,
    mention: Option<&Addressee<'_>>,
    thread: Option<(&OwnedEventId, &OwnedEventId)>,
) -> RoomMessageEventContent {
    let (plain, html) = bodies(reply, mention);
    let mut content = RoomMessageEventContent::text_html(plain, html);
    if let Some(m) = mention {
        content = content.add_mentions(Mentions::with_user_ids([m.user_id.clone()]));
    }
    if let Some((root, in_reply_to)) = thread {
        content.relates_to = Some(Relation::Thread(Thread::plain(
            root.clone(),
            in_reply_to.clone(),
        )));
    }
    content
}

/// A user id as it may stand in a matrix.to link inside an HTML attribute:
/// everything but the characters of a well-formed id is percent-encoded, so a
/// crafted id cannot close the attribute or the tag.
fn link_part(user_id: &str) -> String {
    let mut out = String::with_capacity(user_id.len());
    for byte in user_id.bytes() {
        if byte.is_ascii_alphanumeric() || b"@:._=-/+".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_goes_in_a_code_block_and_html_is_escaped() {
        let (plain, html) = bodies("Recent deploys:\n• shop <1.2>", None);
        assert_eq!(plain, "Recent deploys:\n• shop <1.2>");
        assert_eq!(html, "Recent deploys:<ul><li>shop &lt;1.2&gt;</li></ul>");
        // Help: prose stays prose around the list.
        let (_, html) = bodies(
            "I can:\n• restart a service\n• deploy\nAsk in plain English.\nSay “cancel”.",
            None,
        );
        assert_eq!(
            html,
            "I can:<ul><li>restart a service</li><li>deploy</li></ul>Ask in plain English.<br>Say “cancel”."
        );
        // Command output keeps its columns in a code block.
        let (_, html) = bodies(
            "Disk use on web-01:\nFilesystem  Size  Used\n/dev/sda1   20G   11G",
            None,
        );
        assert_eq!(
            html,
            "Disk use on web-01:<pre><code>Filesystem  Size  Used\n/dev/sda1   20G   11G</code></pre>"
        );
        let user: OwnedUserId = "@alice:localhost".try_into().unwrap();
        let (plain, html) = bodies(
            "On which host?",
            Some(&Addressee {
                user_id: &user,
                name: "alice",
            }),
        );
        assert_eq!(plain, "alice: On which host?");
        assert!(html.starts_with("<a href=\"https://matrix.to/#/@alice:localhost\">alice</a>: "));
        assert_eq!(
            link_part("@a\"><script>x</script>:localhost"),
            "@a%22%3E%3Cscript%3Ex%3C/script%3E:localhost"
        );
        assert!(truncate(&"x".repeat(MAX_REPLY_CHARS + 10))
            .ends_with("(truncated; the full record is in `opsbot audit`)"));
    }
}
