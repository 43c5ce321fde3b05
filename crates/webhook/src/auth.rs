//! Who may post: a bearer token (`Authorization: Bearer …`, as Alertmanager's
//! `http_config.authorization` sends) or an HMAC-SHA256 of the body
//! (`X-Hub-Signature-256: sha256=…`, GitHub's scheme). Secrets come from the
//! environment or a file named in `opsbot.yaml`, are compared in constant
//! time, and are never logged.

use std::path::Path;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use opsbot_spec::{AlertSettings, Secret};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::WebhookError;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

pub struct Credentials {
    token: Option<Vec<u8>>,
    hmac_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &self.token.as_ref().map(|_| "[set]"))
            .field("hmac_key", &self.hmac_key.as_ref().map(|_| "[set]"))
            .finish()
    }
}

fn read(secret: &Secret, what: &str, root: &Path) -> Result<Vec<u8>, WebhookError> {
    let value = match secret {
        Secret::Env(name) => std::env::var(name).map_err(|_| {
            WebhookError::Secret(format!(
                "the {what} is to come from the environment variable {name}, which is not set"
            ))
        })?,
        Secret::File(path) => {
            let path = root.join(path);
            std::fs::read_to_string(&path).map_err(|e| {
                WebhookError::Secret(format!(
                    "cannot read the {what} from {}: {e}",
                    path.display()
                ))
            })?
        }
    };
    let value = value.trim_end_matches(['\n', '\r']);
    if value.trim().len() < 16 {
        return Err(WebhookError::Secret(format!(
            "the {what} is shorter than 16 characters; use a long random secret"
        )));
    }
    Ok(value.as_bytes().to_vec())
}

impl Credentials {
    /// Reads the secrets `alerts:` names; a missing or short one is an error
    /// at start, never an open listener.
    pub fn resolve(settings: &AlertSettings, root: &Path) -> Result<Credentials, WebhookError> {
        let token = settings
            .token
            .as_ref()
            .map(|s| read(s, "webhook token", root))
            .transpose()?;
        let hmac_key = settings
            .hmac_secret
            .as_ref()
            .map(|s| read(s, "webhook HMAC secret", root))
            .transpose()?;
        if token.is_none() && hmac_key.is_none() {
            return Err(WebhookError::Secret(
                "alerts: names no token and no HMAC secret".into(),
            ));
        }
        Ok(Credentials { token, hmac_key })
    }

    pub fn new(token: Option<&str>, hmac_key: Option<&str>) -> Credentials {
        Credentials {
            token: token.map(|t| t.as_bytes().to_vec()),
            hmac_key: hmac_key.map(|k| k.as_bytes().to_vec()),
        }
    }

    /// Whether the headers alone prove the bearer token (checked before any
    /// of the body is read).
    pub fn admits_by_token(&self, headers: &HeaderMap) -> bool {
        self.token.as_ref().is_some_and(|token| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
                .is_some_and(|given| bool::from(given.ct_eq(token)))
        })
    }

    /// Whether the body may still prove the request: an HMAC key is configured
    /// and the headers carry a well-formed signature. Without this, the body
    /// of a request is never read.
    pub fn may_sign(&self, headers: &HeaderMap) -> bool {
        self.hmac_key.is_some() && signature(headers).is_some()
    }

    /// Whether the body matches the request's signature.
    pub fn admits_by_signature(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        self.hmac_key.as_ref().is_some_and(|key| {
            let Some(signature) = signature(headers) else {
                return false;
            };
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(body);
            mac.verify_slice(&signature).is_ok()
        })
    }

    /// Whether the request proves one of the configured secrets.
    pub fn admits(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        self.admits_by_token(headers) || self.admits_by_signature(headers, body)
    }
}

fn signature(headers: &HeaderMap) -> Option<Vec<u8>> {
    headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|hex_text| hex::decode(hex_text.trim()).ok())
        .filter(|bytes| bytes.len() == 32)
}

/// The signature header value for `body` under `key` (for senders and tests).
pub fn sign(key: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TOKEN: &str = "a-long-random-token-0123";
    const KEY: &str = "another-long-random-key-4567";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn a_bearer_token_admits_only_when_it_is_exactly_the_secret() {
        let credentials = Credentials::new(Some(TOKEN), None);
        let body = b"{}";
        assert!(credentials.admits(
            &headers(&[("authorization", &format!("Bearer {TOKEN}"))]),
            body
        ));
        for wrong in [
            format!("Bearer {TOKEN}x"),
            format!("Bearer {}", &TOKEN[1..]),
            format!("bearer {TOKEN}"),
            TOKEN.to_string(),
            "Bearer ".into(),
        ] {
            assert!(
                !credentials.admits(&headers(&[("authorization", &wrong)]), body),
                "{wrong}"
            );
        }
        assert!(!credentials.admits(&HeaderMap::new(), body));
        assert!(
            !credentials.admits(&headers(&[(SIGNATURE_HEADER, &sign(TOKEN, body))]), body),
            "a signature is no use where only a token is configured"
        );
    }

    #[test]
    fn a_signature_admits_only_the_body_it_signs() {
        let credentials = Credentials::new(None, Some(KEY));
        let body = br#"{"version":"4"}"#;
        assert!(credentials.admits(&headers(&[(SIGNATURE_HEADER, &sign(KEY, body))]), body));
        assert!(!credentials.admits(&headers(&[(SIGNATURE_HEADER, &sign(KEY, body))]), b"{}"));
        assert!(!credentials.admits(
            &headers(&[(SIGNATURE_HEADER, &sign("other-key-000000000", body))]),
            body
        ));
        assert!(!credentials.admits(&headers(&[(SIGNATURE_HEADER, "sha256=zz")]), body));
        assert!(!credentials.admits(
            &headers(&[("authorization", &format!("Bearer {KEY}"))]),
            body
        ));
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_file_and_must_be_long() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        let mut settings = AlertSettings {
            listen: opsbot_spec::alerts::DEFAULT_LISTEN.parse().unwrap(),
            token: Some(Secret::File("token".into())),
            hmac_secret: None,
            max_body: opsbot_spec::alerts::DEFAULT_MAX_BODY,
            max_connections: opsbot_spec::alerts::DEFAULT_MAX_CONNECTIONS,
            read_timeout: opsbot_spec::alerts::DEFAULT_READ_TIMEOUT,
            context_window: opsbot_spec::alerts::DEFAULT_CONTEXT_WINDOW,
            quiet_hours: Vec::new(),
            hooks: Vec::new(),
            routes: Vec::new(),
            mute: Default::default(),
        };
        let credentials = Credentials::resolve(&settings, dir.path()).unwrap();
        assert!(credentials.admits(
            &headers(&[("authorization", &format!("Bearer {TOKEN}"))]),
            b""
        ));
        assert!(!format!("{credentials:?}").contains(TOKEN), "never printed");
        settings.token = Some(Secret::Env("OPSBOT_TEST_TOKEN_THAT_IS_NOT_SET".into()));
        let error = Credentials::resolve(&settings, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("OPSBOT_TEST_TOKEN_THAT_IS_NOT_SET"),
            "{error}"
        );
        std::fs::write(dir.path().join("short"), "abc").unwrap();
        settings.token = Some(Secret::File("short".into()));
        let error = Credentials::resolve(&settings, dir.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("shorter than 16"), "{error}");
    }
}
