//! Session tokens: JWTs signed with HS256, verified against an explicit algorithm allow-list.
//! The token carries the user's `token_version`; raising it revokes every older token.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const SESSION_COOKIE: &str = "samling_session";

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's token version when the token was issued.
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
}

/// An unsubscribe link's claims: who, and that it is for nothing else. A session token lacks
/// `purpose`, and this token lacks `ver`, so neither passes as the other.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct UnsubscribeClaims {
    sub: String,
    purpose: String,
    iat: i64,
    exp: i64,
}

const UNSUBSCRIBE_PURPOSE: &str = "unsubscribe";
/// Old mails' links keep working for a year.
const UNSUBSCRIBE_LIFETIME_DAYS: i64 = 366;

#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SessionKeys {
    pub fn new(secret: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
        }
    }

    pub fn issue(
        &self,
        user_id: i32,
        token_version: i32,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id.to_string(),
            ver: token_version,
            iat: now.timestamp(),
            exp: (now + lifetime).timestamp(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The token of a one-click unsubscribe link for `user_id` (needs no sign-in).
    pub fn issue_unsubscribe(&self, user_id: i32, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = UnsubscribeClaims {
            sub: user_id.to_string(),
            purpose: UNSUBSCRIBE_PURPOSE.to_string(),
            iat: now.timestamp(),
            exp: (now + Duration::days(UNSUBSCRIBE_LIFETIME_DAYS)).timestamp(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The user id of an unsubscribe token signed by us and not expired at `now`.
    pub fn verify_unsubscribe(&self, token: &str, now: DateTime<Utc>) -> Option<i32> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<UnsubscribeClaims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        (claims.purpose == UNSUBSCRIBE_PURPOSE && claims.exp > now.timestamp())
            .then(|| claims.sub.parse().ok())
            .flatten()
    }

    /// The claims of a token signed by us with HS256 and not expired at `now`; `None` otherwise.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Expiry is checked below against the injectable clock.
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        (claims.exp > now.timestamp()).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_fresh_token_verifies() {
        let keys = SessionKeys::new("a-secret-of-enough-length-for-tests");
        let token = keys.issue(42, 3, now(), Duration::hours(1)).unwrap();
        let claims = keys.verify(&token, now()).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver), ("42", 3));
    }

    #[test]
    fn unsubscribe_and_session_tokens_do_not_pass_as_each_other() {
        let keys = SessionKeys::new("a-secret-of-enough-length-for-tests");
        let unsubscribe = keys.issue_unsubscribe(42, now()).unwrap();
        assert_eq!(keys.verify_unsubscribe(&unsubscribe, now()), Some(42));
        assert_eq!(keys.verify_unsubscribe(&unsubscribe, now() + Duration::days(400)), None);
        assert!(keys.verify(&unsubscribe, now()).is_none());
        let session = keys.issue(42, 3, now(), Duration::hours(1)).unwrap();
        assert_eq!(keys.verify_unsubscribe(&session, now()), None);
        let other = SessionKeys::new("another-secret-of-enough-length");
        assert_eq!(other.verify_unsubscribe(&unsubscribe, now()), None);
    }

    #[test]
    fn expired_wrong_key_and_tampered_tokens_fail() {
        let keys = SessionKeys::new("a-secret-of-enough-length-for-tests");
        let token = keys.issue(42, 3, now(), Duration::hours(1)).unwrap();
        assert!(keys.verify(&token, now() + Duration::hours(2)).is_none());
        assert!(
            SessionKeys::new("another-secret-of-enough-length")
                .verify(&token, now())
                .is_none()
        );

        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"1","ver":3,"iat":1800000000,"exp":1900000000}"#);
        let changed = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert!(keys.verify(&changed, now()).is_none());

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{forged_payload}.");
        assert!(keys.verify(&unsigned, now()).is_none());
    }
}
