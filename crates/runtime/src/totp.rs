//! Step-up two-factor authentication with time-based one-time passwords
//! (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps: what authenticator apps use).
//!
//! Secrets live in the store and are never logged or echoed after enrolment.
//! Wrong codes are limited: after [`MAX_FAILURES`] the user is locked out for
//! [`LOCKOUT`]. A code is accepted once (a later code must be from a later step).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use opsbot_dialog::CodeCheck;
use serde::{Deserialize, Serialize};

pub const MAX_FAILURES: u32 = 5;
pub const LOCKOUT: chrono::Duration = chrono::Duration::minutes(15);
const STEP_SECONDS: u64 = 30;
const DIGITS: u32 = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

fn hmac_digest(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    macro_rules! digest {
        ($hash:ty) => {{
            let mut mac =
                Hmac::<$hash>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }};
    }
    match algorithm {
        Algorithm::Sha1 => digest!(sha1::Sha1),
        Algorithm::Sha256 => digest!(sha2::Sha256),
        Algorithm::Sha512 => digest!(sha2::Sha512),
    }
}

/// HOTP (RFC 4226) of `counter`, as `digits` decimal digits.
pub fn hotp(algorithm: Algorithm, secret: &[u8], counter: u64, digits: u32) -> String {
    let digest = hmac_digest(algorithm, secret, &counter.to_be_bytes());
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(digits),
        width = digits as usize
    )
}

/// TOTP (RFC 6238) at `unix_seconds`.
pub fn totp(algorithm: Algorithm, secret: &[u8], unix_seconds: u64, digits: u32) -> String {
    hotp(algorithm, secret, unix_seconds / STEP_SECONDS, digits)
}

/// The code an authenticator app shows now for `secret` (tests and tooling).
pub fn current_code(secret: &[u8], now: DateTime<Utc>) -> String {
    totp(
        Algorithm::Sha1,
        secret,
        now.timestamp().max(0) as u64,
        DIGITS,
    )
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TotpRecord {
    /// Base32 (RFC 4648, no padding), as authenticator apps take it.
    secret: String,
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    /// The last time step whose code was accepted (replay protection).
    pub last_step: u64,
    pub enrolled_at: DateTime<Utc>,
}

impl std::fmt::Debug for TotpRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRecord")
            .field("secret", &"[redacted]")
            .field("failures", &self.failures)
            .field("locked_until", &self.locked_until)
            .finish()
    }
}

impl TotpRecord {
    /// A fresh random 160-bit secret.
    pub fn generate(now: DateTime<Utc>) -> TotpRecord {
        let secret: [u8; 20] = rand::random();
        TotpRecord {
            secret: data_encoding::BASE32_NOPAD.encode(&secret),
            failures: 0,
            locked_until: None,
            last_step: 0,
            enrolled_at: now,
        }
    }

    pub fn secret_bytes(&self) -> Vec<u8> {
        data_encoding::BASE32_NOPAD
            .decode(self.secret.as_bytes())
            .unwrap_or_default()
    }

    /// The `otpauth://` URI to show once at enrolment (as text or a QR code).
    pub fn uri(&self, issuer: &str, user: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            percent_encode(issuer),
            percent_encode(user),
            self.secret,
            percent_encode(issuer)
        )
    }

    /// Checks a code and updates the failure count, lockout and replay guard.
    pub fn check(&mut self, code: &str, now: DateTime<Utc>) -> CodeCheck {
        if let Some(until) = self.locked_until {
            if now < until {
                return CodeCheck::LockedOut { until };
            }
            self.locked_until = None;
        }
        let secret = self.secret_bytes();
        let step = now.timestamp().max(0) as u64 / STEP_SECONDS;
        // One step either side tolerates clock drift and a code typed at a boundary.
        let window = [step.saturating_sub(1), step, step + 1];
        let matching = window
            .into_iter()
            .find(|&s| hotp(Algorithm::Sha1, &secret, s, DIGITS) == code);
        match matching {
            Some(s) if s > self.last_step => {
                self.last_step = s;
                self.failures = 0;
                CodeCheck::Valid
            }
            Some(_) => CodeCheck::AlreadyUsed,
            None => {
                self.failures += 1;
                if self.failures >= MAX_FAILURES {
                    self.failures = 0;
                    let until = now + LOCKOUT;
                    self.locked_until = Some(until);
                    CodeCheck::LockedOut { until }
                } else {
                    CodeCheck::Invalid {
                        tries_left: MAX_FAILURES - self.failures,
                    }
                }
            }
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238, appendix B: 8-digit codes for the three test seeds.
    #[test]
    fn rfc6238_test_vectors() {
        let sha1 = b"12345678901234567890";
        let sha256 = b"12345678901234567890123456789012";
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let vectors: &[(u64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for &(time, a, b, c) in vectors {
            assert_eq!(totp(Algorithm::Sha1, sha1, time, 8), a, "SHA1 at {time}");
            assert_eq!(
                totp(Algorithm::Sha256, sha256, time, 8),
                b,
                "SHA256 at {time}"
            );
            assert_eq!(
                totp(Algorithm::Sha512, sha512, time, 8),
                c,
                "SHA512 at {time}"
            );
        }
    }

    #[test]
    fn codes_are_accepted_once_and_wrong_ones_lock() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let mut record = TotpRecord::generate(now);
        let code = current_code(&record.secret_bytes(), now);
        assert_eq!(record.check(&code, now), CodeCheck::Valid);
        assert_eq!(
            record.check(&code, now),
            CodeCheck::AlreadyUsed,
            "no replay, and a replay is not a guess"
        );
        for left in (1..5).rev() {
            assert_eq!(
                record.check("000000", now),
                CodeCheck::Invalid { tries_left: left }
            );
        }
        let locked = record.check("000000", now);
        assert_eq!(
            locked,
            CodeCheck::LockedOut {
                until: now + LOCKOUT
            }
        );
        let later = now + chrono::Duration::seconds(60);
        let fresh = current_code(&record.secret_bytes(), later);
        assert!(
            matches!(record.check(&fresh, later), CodeCheck::LockedOut { .. }),
            "even a right code waits out the lockout"
        );
        let after = now + LOCKOUT + chrono::Duration::seconds(30);
        assert_eq!(
            record.check(&current_code(&record.secret_bytes(), after), after),
            CodeCheck::Valid
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output_and_uris_are_encoded() {
        let record = TotpRecord::generate(Utc::now());
        assert!(!format!("{record:?}").contains(&record.secret));
        let uri = record.uri("opsbot", "@alice:example.org");
        assert!(uri.starts_with("otpauth://totp/opsbot:%40alice%3Aexample.org?secret="));
    }
}
