//! Sign-in by e-mailed link: single use, valid 15 minutes, stored only as a hash; a new link
//! voids older ones; the answer is the same whether the address is known or not.

use std::net::IpAddr;

use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::session::SESSION_COOKIE;
use super::tokens::{hash_secret, new_secret};
use crate::domain::email::normalize_email;
use crate::entities::{sign_in_token, user};
use crate::error::{AppError, AppResult};
use crate::i18n::{Language, Tr};
use crate::mails;
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

/// Handles "send me a link". Errors only for a malformed address or too many requests, so the
/// answer never tells whether the address is known.
pub async fn request_sign_in_link(state: &AppState, address: &str, client_ip: IpAddr) -> AppResult<()> {
    let email = normalize_email(address).ok_or_else(|| AppError::invalid("invalid_email", "email"))?;
    state.sign_in_limits.check(&email, client_ip)?;
    let known = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .filter(user::Column::Active.eq(true))
        .one(&state.db)
        .await?;
    match known {
        Some(user) => {
            // Under the person's row lock: of links asked for at once, only the newest works.
            let txn = crate::db::write_transaction(&state.db).await?;
            crate::db::lock_row::<user::Entity>(&txn, user.id).await?;
            let secret = issue_sign_in_secret(&txn, user.id, state.now()).await?;
            sea_orm::TransactionSession::commit(txn).await?;
            let tr = Tr::new(Language::parse(&user.language).unwrap_or_default());
            let mail = mails::sign_in(tr, &user, &state.link(&sign_in_path(&secret)))?;
            state.mailer.send(mail).await?;
            tracing::info!(user_id = user.id, "sign-in link sent");
        }
        None => tracing::info!("sign-in link asked for an unknown address"),
    }
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
    Ok(user)
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

/// Makes every session token the user holds invalid (sign-out, deactivation, role change).
pub async fn revoke_sessions(db: &impl ConnectionTrait, user_id: i32) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::TokenVersion, Expr::col(user::Column::TokenVersion).add(1))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
