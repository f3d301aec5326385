//! Sign-in by e-mailed link: single use, valid 15 minutes, stored only as a hash; a new link
//! voids older ones; the answer is the same whether the address is known or not.

use std::net::IpAddr;

use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::CurrentUser;
use super::session_token::SESSION_COOKIE;
use super::tokens::{hash_secret, new_secret};
use crate::domain::email::normalize_email;
use crate::entities::{outbox_mail, sign_in_token, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const LINK_LIFETIME: Duration = Duration::minutes(15);

/// Creates a new sign-in secret for the user, voiding their older unused ones. Returns the secret.
pub async fn issue_sign_in_secret(db: &impl ConnectionTrait, user_id: i32, now: DateTime<Utc>) -> AppResult<String> {
    sign_in_token::Entity::update_many()
        .col_expr(sign_in_token::Column::ConsumedAt, Expr::value(now))
        .filter(sign_in_token::Column::UserId.eq(user_id))
        .filter(sign_in_token::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    let secret = new_secret();
    sign_in_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(hash_secret(&secret)),
        expires_at: Set(now + LINK_LIFETIME),
        consumed_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(secret)
}

pub fn sign_in_path(secret: &str) -> String {
    format!("/sign-in/link?token={secret}")
}

/// A sign-in link that leads to `next` (a path of this site) once used.
pub fn sign_in_path_to(secret: &str, next: &str) -> String {
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{}&next={next}", sign_in_path(secret))
}

/// A path of this site, so a link cannot send a person elsewhere after signing in: starts with
/// one `/`, no `//` or `\\` (other hosts to a browser), no control characters, not too long.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path.len() <= 200
}

/// Handles "send me a link": records the address in the outbox and wakes the worker, which
/// looks the person up and sends the link (`digests::worker`). The request does the same work
/// for a known and an unknown address and never waits for the mail server, so neither its
/// answer nor its time tells whether the address is known, and a mail server that is down
/// only delays the mail (it is retried). Errors only for a malformed address or too many
/// requests.
pub async fn request_sign_in_link(state: &AppState, address: &str, client_ip: IpAddr) -> AppResult<()> {
    let email = normalize_email(address).ok_or_else(|| AppError::invalid("invalid_email", "email"))?;
    state.sign_in_limits.check(&email, client_ip)?;
    let now = state.now();
    outbox_mail::ActiveModel {
        kind: Set(outbox_mail::Kind::SignIn),
        digest_id: Set(None),
        user_id: Set(None),
        message_id: Set(format!(
            "<sign-in-{}@{}>",
            uuid::Uuid::new_v4().simple(),
            state.message_id_domain()
        )),
        recipient: Set(email),
        subject: Set(String::new()),
        text_body: Set(String::new()),
        html_body: Set(String::new()),
        calendar: Set(None),
        unsubscribe_url: Set(String::new()),
        status: Set(outbox_mail::Status::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        lease_owner: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    state.outbox.notify_one();
    Ok(())
}

/// Uses a sign-in secret once. The conditional update makes a second use fail even when two
/// requests race.
pub async fn redeem_sign_in_secret(state: &AppState, secret: &str) -> AppResult<user::Model> {
    let now = state.now();
    let hash = hash_secret(secret.trim());
    let used = sign_in_token::Entity::update_many()
        .col_expr(sign_in_token::Column::ConsumedAt, Expr::value(now))
        .filter(sign_in_token::Column::TokenHash.eq(&hash))
        .filter(sign_in_token::Column::ConsumedAt.is_null())
        .filter(sign_in_token::Column::ExpiresAt.gt(now))
        .exec(&state.db)
        .await?;
    if used.rows_affected != 1 {
        return Err(AppError::invalid("sign_in_link_invalid", "token"));
    }
    let token = sign_in_token::Entity::find()
        .filter(sign_in_token::Column::TokenHash.eq(&hash))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let user = user::Entity::find_by_id(token.user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.active {
        return Err(AppError::invalid("sign_in_link_invalid", "token"));
    }
    record_sign_in(&state.db, user.id, now).await?;
    Ok(user)
}

/// Remembers when the person signed in (a link or an accepted invitation): the sign-in links
/// themselves are purged after a while, and the retention job asks whether someone without a
/// cohort still uses Samling (`privacy::retention`).
pub async fn record_sign_in(db: &impl ConnectionTrait, user_id: i32, now: DateTime<Utc>) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::LastSignedInAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A session token for the user, valid for the configured hours.
pub fn issue_session(state: &AppState, user: &user::Model) -> AppResult<String> {
    Ok(state.sessions.issue(
        user.id,
        user.token_version,
        state.now(),
        Duration::hours(state.settings.session_hours),
    )?)
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure outside development. It lives as long as
/// the browser session; the token inside expires after the configured hours.
pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.is_production())
        .path("/")
        .build()
}

pub fn cleared_session_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(state, String::new());
    cookie.make_removal();
    cookie
}

/// Signs a person out everywhere: every session token they hold stops working and their open
/// live connections close.
pub async fn sign_out(state: &AppState, person: &CurrentUser) -> AppResult<()> {
    revoke_sessions(&state.db, person.user.id).await?;
    state.hub.access_changed(person.user.id);
    Ok(())
}

/// Makes every session token the user holds invalid (sign-out, deactivation, role change).
pub async fn revoke_sessions(db: &impl ConnectionTrait, user_id: i32) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::TokenVersion, Expr::col(user::Column::TokenVersion).add(1))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_leads_only_to_a_path_of_this_site() {
        for local in ["/cohorts/3", "/admin", "/sessions/1?done=saved"] {
            assert!(is_local_path(local), "{local}");
        }
        for elsewhere in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "cohorts/3",
            "",
            "/a\nb",
        ] {
            assert!(!is_local_path(elsewhere), "{elsewhere:?}");
        }
        assert!(!is_local_path(&format!("/{}", "a".repeat(200))));
        assert_eq!(
            sign_in_path_to("secret", "/cohorts/3"),
            "/sign-in/link?token=secret&next=%2Fcohorts%2F3"
        );
    }
}
