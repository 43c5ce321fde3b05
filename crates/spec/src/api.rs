//! `api:` in `opsbot.yaml`: the HTTP door that can only propose. Each token
//! is kept as its SHA-256 (never the token itself), acts for one person in
//! one room, and may propose changes, read-only requests, or both, for all
//! dialogs or the ones it names.
//!
//! ```yaml
//! api:
//!   listen: 127.0.0.1:9098
//!   tokens:
//!     - name: ci-deploys
//!       sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//!       person: "@priya:example.org"
//!       room: "!ops:example.org"
//!       scopes: [changes, reads]
//!       dialogs: [backup_database]
//!       per_minute: 30
//!       people: ["@kim:example.org"]   # may also propose for these
//! ```

use std::net::SocketAddr;

use serde::Deserialize;

use crate::diag::{Diagnostics, Location, PositionIndex};

/// Where the API listens when `api.listen` does not say: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9098";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<String>,
    #[serde(default)]
    pub tokens: Vec<RawToken>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub name: Option<String>,
    pub sha256: Option<String>,
    pub person: Option<String>,
    pub room: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub dialogs: Option<Vec<String>>,
    pub per_minute: Option<u32>,
    pub people: Option<Vec<String>>,
}

/// The API's settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    pub tokens: Vec<ApiToken>,
    /// Each dialog a token names, where: checked once the dialogs are known.
    pub(crate) named: Vec<(Location, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    /// Who proposed, in the audit and in the room ("ci-deploys proposes …").
    pub name: String,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// The chat user the proposals are for (they confirm them).
    pub person: String,
    /// The room they are posted in.
    pub room: String,
    /// May propose changes (a person confirms them in the room).
    pub changes: bool,
    /// May ask read-only dialogs (answered in the response).
    pub reads: bool,
    /// The dialogs it may propose; `None`: all.
    pub dialogs: Option<Vec<String>>,
    /// Proposals a minute before 429.
    pub per_minute: u32,
    /// Others it may propose for (`opsbot ask --as`, `"as"` in a request),
    /// in the same room; `person` is the one when none is named.
    pub people: Vec<String>,
}

impl ApiToken {
    /// Whether the token may propose for `person`.
    pub fn acts_for(&self, person: &str) -> bool {
        self.person == person || self.people.iter().any(|p| p == person)
    }
}

/// Checks `api:`; every mistake is named at its line.
pub fn check(raw: RawApi, index: &PositionIndex, diagnostics: &mut Diagnostics) -> ApiSettings {
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        diagnostics.push(
            index.locate("api.listen"),
            format!(
                "`{listen_text}` is not an address with a port; expected e.g. `{DEFAULT_LISTEN}`"
            ),
        );
        DEFAULT_LISTEN.parse().expect("the default parses")
    });
    let mut tokens: Vec<ApiToken> = Vec::new();
    let mut named = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, token) in raw.tokens.into_iter().enumerate() {
        let at = format!("api.tokens.{i}");
        let mut missing = |field: &str| {
            diagnostics.push(
                index.locate(&at),
                format!(
                    "token {} has no `{field}`; every token needs name, sha256, person and room",
                    i + 1
                ),
            );
        };
        let (Some(name), Some(hash), Some(person), Some(room)) =
            (token.name, token.sha256, token.person, token.room)
        else {
            missing("name, sha256, person or room");
            continue;
        };
        if seen.contains(&name) {
            diagnostics.push(
                index.locate(&format!("{at}.name")),
                format!(
                    "a second token is named `{name}`; names tell proposers apart in the audit"
                ),
            );
        }
        seen.push(name.clone());
        let sha256 = match hex::decode(hash.trim()) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut digest = [0u8; 32];
                digest.copy_from_slice(&bytes);
                digest
            }
            _ => {
                diagnostics.push(
                    index.locate(&format!("{at}.sha256")),
                    "sha256 is not 64 hexadecimal digits; expected the SHA-256 of the token in hex (`printf %s \"$TOKEN\" | sha256sum`), never the token itself",
                );
                continue;
            }
        };
        let scopes = token.scopes.unwrap_or_else(|| vec!["changes".into()]);
        for (k, scope) in scopes.iter().enumerate() {
            if scope != "changes" && scope != "reads" {
                diagnostics.push(
                    index.locate(&format!("{at}.scopes.{k}")),
                    format!("unknown scope `{scope}`; expected `changes` (proposed, confirmed by the person) or `reads` (read-only dialogs answered)"),
                );
            }
        }
        if let Some(dialogs) = &token.dialogs {
            for (j, dialog) in dialogs.iter().enumerate() {
                named.push((index.locate(&format!("{at}.dialogs.{j}")), dialog.clone()));
            }
        }
        for (k, other) in token.people.iter().flatten().enumerate() {
            if other.trim().is_empty() || other.chars().any(char::is_whitespace) {
                diagnostics.push(
                    index.locate(&format!("{at}.people.{k}")),
                    format!(
                        "`{other}` is not a chat user id; expected one like `@kim:example.org`"
                    ),
                );
            }
        }
        let per_minute = token.per_minute.unwrap_or(30);
        if per_minute == 0 {
            diagnostics.push(
                index.locate(&format!("{at}.per_minute")),
                "per_minute is 0; expected at least 1 (remove the token to shut it out)",
            );
        }
        tokens.push(ApiToken {
            name,
            sha256,
            person,
            room,
            changes: scopes.iter().any(|s| s == "changes"),
            reads: scopes.iter().any(|s| s == "reads"),
            dialogs: token.dialogs,
            per_minute: per_minute.max(1),
            people: token.people.unwrap_or_default(),
        });
    }
    ApiSettings {
        listen,
        tokens,
        named,
    }
}

/// Every dialog a token names exists.
pub fn check_dialogs(
    api: &ApiSettings,
    exists: impl Fn(&str) -> bool,
    diagnostics: &mut Diagnostics,
) {
    for (location, dialog) in &api.named {
        if !exists(dialog) {
            diagnostics.push(
                location.clone(),
                format!("no dialog is named `{dialog}`; expected one of the dialogs in dialogs/"),
            );
        }
    }
}
