//! The API's tokens and what both of its doors (HTTP and MCP) do with one:
//! find it by its hash in constant time, count its proposals against
//! `per_minute`, and propose for its person in its room within its scope.
//! Tokens are never logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use opsbot_runtime::key::ConversationKey;
use opsbot_runtime::proposal::{Asked, Given, Proposal, Proposed, Scope};
use opsbot_runtime::{Runtime, RuntimeError};
use opsbot_spec::api::{ApiSettings, ApiToken};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A name a client gives itself (an MCP client's), kept in the audit beside
/// the token's: at most this long.
const MAX_VIA_CHARS: usize = 64;

pub(crate) struct Token {
    pub(crate) settings: ApiToken,
    /// Proposals in the current minute: (the minute's start, how many).
    window: Mutex<(Instant, u32)>,
}

/// The runtime and the tokens that may propose to it.
pub(crate) struct Api {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) tokens: Vec<Token>,
}

impl Api {
    pub(crate) fn new(runtime: Arc<Runtime>, settings: &ApiSettings) -> Api {
        let tokens = settings
            .tokens
            .iter()
            .map(|t| Token {
                settings: t.clone(),
                window: Mutex::new((Instant::now(), 0)),
            })
            .collect();
        Api { runtime, tokens }
    }

    /// The token the request's bearer token hashes to, every configured hash
    /// compared in constant time.
    pub(crate) fn token(&self, headers: &HeaderMap) -> Option<&Token> {
        self.token_index(headers).map(|i| &self.tokens[i])
    }

    /// [`Api::token`]'s place in `tokens`.
    pub(crate) fn token_index(&self, headers: &HeaderMap) -> Option<usize> {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .map(Sha256::digest)?;
        let mut found = None;
        for (index, token) in self.tokens.iter().enumerate() {
            if bool::from(given.as_slice().ct_eq(&token.settings.sha256)) {
                found = Some(index);
            }
        }
        found
    }

    /// Proposes `asked` for `token`'s person, from the token (and the client
    /// it names itself, `via`).
    pub(crate) async fn propose(
        &self,
        token: &Token,
        key: ConversationKey,
        asked: Asked,
        via: Option<&str>,
    ) -> Result<Proposed, RuntimeError> {
        let proposer = match via {
            Some(via) => format!("{} via {via}", token.settings.name),
            None => token.settings.name.clone(),
        };
        let proposal = Proposal {
            key,
            proposer,
            asked,
            scope: token.scope(),
        };
        self.runtime.ingress().propose(proposal).await
    }
}

impl Token {
    pub(crate) fn key(&self) -> ConversationKey {
        ConversationKey::new(&self.settings.room, &self.settings.person)
    }

    /// The conversation of `person` (the token's own when `None`) in the
    /// token's room, or why the token may not propose for them.
    pub(crate) fn key_for(&self, person: Option<&str>) -> Result<ConversationKey, String> {
        match person {
            None => Ok(self.key()),
            Some(person) if self.settings.acts_for(person) => {
                Ok(ConversationKey::new(&self.settings.room, person))
            }
            Some(person) => Err(format!(
                "this token may not propose for {person}; add them to its people: in opsbot.yaml"
            )),
        }
    }

    /// Every conversation the token may propose into: its person's, then
    /// its people's.
    pub(crate) fn keys(&self) -> impl Iterator<Item = ConversationKey> + '_ {
        std::iter::once(&self.settings.person)
            .chain(&self.settings.people)
            .map(|person| ConversationKey::new(&self.settings.room, person))
    }

    /// Counts a proposal against `per_minute`; `false` when over it.
    pub(crate) fn admit(&self) -> bool {
        let mut window = self.window.lock().expect("rate window lock");
        if window.0.elapsed() >= Duration::from_secs(60) {
            *window = (Instant::now(), 0);
        }
        window.1 += 1;
        window.1 <= self.settings.per_minute
    }

    pub(crate) fn scope(&self) -> Scope {
        Scope {
            changes: self.settings.changes,
            reads: self.settings.reads,
            dialogs: self.settings.dialogs.clone(),
        }
    }
}

/// A client's name for itself, or why it cannot be kept.
pub(crate) fn checked_via(via: &str) -> Result<&str, String> {
    let via = via.trim();
    if via.is_empty() || via.chars().count() > MAX_VIA_CHARS || via.chars().any(char::is_control) {
        return Err(format!(
            "via must be a name of 1 to {MAX_VIA_CHARS} printable characters"
        ));
    }
    Ok(via)
}

/// A request given as a dialog (or its intent) and values: the values as
/// text, each a JSON string or number.
pub(crate) fn given(
    runtime: &Runtime,
    dialog: Option<&str>,
    intent: Option<&str>,
    slots: &BTreeMap<String, serde_json::Value>,
) -> Result<Asked, String> {
    let dialog = match (dialog, intent) {
        (Some(dialog), None) => dialog.to_string(),
        (None, Some(intent)) => {
            let loaded = runtime.model().snapshot();
            match loaded.project.dialog_for_intent(intent) {
                Some(dialog) => dialog.name.clone(),
                None => return Err(format!("no dialog answers the intent “{intent}”")),
            }
        }
        _ => return Err("give the dialog or its intent, not both".into()),
    };
    let mut values = BTreeMap::new();
    for (name, value) in slots {
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            other => {
                return Err(format!(
                    "the value of {name} must be a string or a number, not {other}"
                ))
            }
        };
        values.insert(name.clone(), text);
    }
    Ok(Asked::Given(Given {
        dialog,
        slots: values,
    }))
}
