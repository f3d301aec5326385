//! One error type for the whole server, mapped once to responses: `application/problem+json`
//! with a stable `code` for the API, an HTML page for browsers. Internal causes are logged,
//! never sent.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::i18n::{Language, Tr};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Input the user can fix; `code` is stable and names the translation `error.<code>`.
    #[error("invalid input: {code}")]
    Invalid {
        code: &'static str,
        /// The field at fault: a name, or a path into a JSON body (`marks[0].user_id`).
        field: Option<Cow<'static, str>>,
        args: Vec<(&'static str, String)>,
    },
    #[error("conflict: {code}")]
    Conflict { code: &'static str },
    /// A link that worked once and no longer does (used or expired): 410 with a code naming it.
    #[error("gone: {code}")]
    Gone { code: &'static str },
    /// A moderator muted the person in this cohort until a time: 403 `muted`.
    #[error("muted")]
    Muted { until: chrono::DateTime<chrono::Utc> },
    /// A rate limit refused the request; it may be tried again after `retry_after_seconds`.
    #[error("too many requests")]
    TooManyRequests { retry_after_seconds: u64 },
    /// The database could not take the write in time (another writer held the lock for
    /// [`crate::db::LOCK_WAIT`]): 503 `busy` with `Retry-After`. Nothing was written.
    #[error("database busy")]
    Busy,
    /// The mail server did not take a mail that must go with the change (an invitation), so the
    /// change was undone: 503 `mail_unavailable` with `Retry-After`.
    #[error("mail server unavailable")]
    MailUnavailable,
    /// An upload over the size limit, refused while it streamed in: 413 `file_too_large`.
    #[error("file too large")]
    FileTooLarge { max_bytes: u64 },
    /// A request body over the route's limit (JSON bodies, grant files): 413 `body_too_large`.
    #[error("request body too large")]
    BodyTooLarge,
    /// A method the path does not have: 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A request that changes something, sent from another site's page (its `Origin`): 403
    /// `cross_origin`.
    #[error("cross-origin request refused")]
    CrossOrigin,
    /// Another error answer the framework or a layer gave before a handler ran (400, 415, …),
    /// turned into a problem by `web::api_problems`.
    #[error("request refused with {status}")]
    Refused { status: StatusCode },
    /// A time that breaks planning rules, saved only when the facilitator confirms it.
    #[error("planning rules broken")]
    RuleBroken {
        violations: Vec<crate::domain::planner::Violation>,
    },
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        match classify(&error) {
            DbFailure::Busy => {
                tracing::warn!(error = %error, "database busy");
                AppError::Busy
            }
            // Two requests created the same thing at once and the other one won: the caller's
            // view is stale, as with any conflict. (Writes that can meet this take the row lock
            // first or use ON CONFLICT; this is the safety net.)
            DbFailure::Duplicate => {
                tracing::warn!(error = %error, "unique constraint at a concurrent write");
                AppError::Conflict {
                    code: "concurrent_change",
                }
            }
            DbFailure::Other => AppError::Internal(error.into()),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum DbFailure {
    Busy,
    Duplicate,
    Other,
}

/// Which database failures are a matter of timing rather than a fault: the lock was not free
/// in time (SQLite `SQLITE_BUSY` 5 and its extended codes such as 517, `SQLITE_LOCKED` 6;
/// PostgreSQL lock timeout 55P03, deadlock 40P01, serialization failure 40001), or no pooled
/// connection came free.
fn classify(error: &sea_orm::DbErr) -> DbFailure {
    use sea_orm::{DbErr, RuntimeErr, SqlErr};
    if matches!(error, DbErr::ConnectionAcquire(_)) {
        return DbFailure::Busy;
    }
    if let Some(SqlErr::UniqueConstraintViolation(_)) = error.sql_err() {
        return DbFailure::Duplicate;
    }
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx))
    | DbErr::Query(RuntimeErr::SqlxError(sqlx))
    | DbErr::Conn(RuntimeErr::SqlxError(sqlx))) = error
    else {
        return DbFailure::Other;
    };
    match sqlx.as_ref() {
        sea_orm::sqlx::Error::PoolTimedOut => DbFailure::Busy,
        sea_orm::sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default();
            // SQLite's codes are numbers whose low byte is the primary code; PostgreSQL's are
            // SQLSTATEs, some all digits too (22021 would pass for SQLite's 5).
            let busy = if database
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                code.parse::<i64>().is_ok_and(|code| matches!(code & 0xff, 5 | 6))
            } else {
                matches!(code.as_ref(), "55P03" | "40P01" | "40001")
            };
            if busy { DbFailure::Busy } else { DbFailure::Other }
        }
        _ => DbFailure::Other,
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<sea_orm::TransactionError<E>> for AppError
where
    AppError: From<E>,
{
    fn from(error: sea_orm::TransactionError<E>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner.into(),
        }
    }
}

impl AppError {
    pub fn invalid(code: &'static str, field: &'static str) -> Self {
        AppError::Invalid {
            code,
            field: Some(Cow::Borrowed(field)),
            args: Vec::new(),
        }
    }

    /// Text that breaks [`crate::domain::text`]'s rule, naming the field in the sentence.
    pub fn invalid_text(field: impl Into<String>) -> Self {
        AppError::Invalid {
            code: "invalid_text",
            field: None,
            args: vec![("field", field.into())],
        }
    }

    /// The error for an error answer that is not a problem yet (see `web::api_problems`).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => AppError::Unauthenticated,
            StatusCode::FORBIDDEN => AppError::Forbidden,
            StatusCode::NOT_FOUND => AppError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge,
            StatusCode::TOO_MANY_REQUESTS => AppError::TooManyRequests {
                retry_after_seconds: 60,
            },
            status => AppError::Refused { status },
        }
    }

    /// Seconds after which the same request may succeed, sent as `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after_seconds } => Some(*retry_after_seconds),
            AppError::Busy => Some(1),
            AppError::MailUnavailable => Some(60),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Muted { .. } | AppError::CrossOrigin => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } | AppError::RuleBroken { .. } => StatusCode::CONFLICT,
            AppError::Gone { .. } => StatusCode::GONE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy | AppError::MailUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::FileTooLarge { .. } | AppError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Refused { status } => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Invalid { code, .. } | AppError::Conflict { code } | AppError::Gone { code } => code,
            AppError::Muted { .. } => "muted",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Busy => "busy",
            AppError::MailUnavailable => "mail_unavailable",
            AppError::FileTooLarge { .. } => "file_too_large",
            AppError::BodyTooLarge => "body_too_large",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::CrossOrigin => "cross_origin",
            AppError::Refused { status } => match status.as_u16() {
                408 => "request_timeout",
                415 => "unsupported_media_type",
                426 => "upgrade_required",
                500.. => "internal",
                _ => "bad_request",
            },
            AppError::RuleBroken { .. } => "planning_rule_broken",
            AppError::Internal(_) => "internal",
        }
    }

    /// A sentence a person understands, in their language.
    pub fn message(&self, tr: Tr) -> String {
        let key = format!("error.{}", self.code());
        match self {
            // One stable code for an unreadable body or query; the sentence names the field when
            // serde knew it.
            AppError::Invalid {
                code: "invalid_fields",
                field: Some(_),
                args,
            } => tr.f("error.invalid_field", args),
            AppError::Invalid { args, .. } => tr.f(&key, args),
            // The time in the same language as the sentence around it.
            AppError::Muted { until } => tr.f(&key, &[("until", tr.date_time(until))]),
            AppError::FileTooLarge { max_bytes } => {
                tr.f(&key, &[("max", format!("{} MiB", max_bytes.div_ceil(1024 * 1024)))])
            }
            AppError::RuleBroken { violations } => {
                let reasons: Vec<String> = violations
                    .iter()
                    .map(|violation| describe_violation(tr, violation))
                    .collect();
                tr.f(&key, &[("reasons", reasons.join("; "))])
            }
            _ => tr.t(&key).to_string(),
        }
    }

    /// Logs what the client will not see.
    pub fn log(&self) {
        match self {
            AppError::Internal(cause) => tracing::error!(error = %format!("{cause:#}"), "internal error"),
            AppError::MailUnavailable => {
                tracing::warn!("a mail could not be handed to the mail server; the change was undone")
            }
            AppError::Refused { status } if status.is_server_error() => {
                tracing::error!(%status, "a layer answered with a server error")
            }
            _ => {}
        }
    }
}

/// The body of an `application/problem+json` response (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable error code.
    pub code: String,
    /// A sentence a person understands.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `planning_rule_broken`: each rule the time breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub violations: Option<serde_json::Value>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let field = match &self {
            AppError::Invalid { field, .. } => field.as_ref().map(|field| field.to_string()),
            _ => None,
        };
        let problem = Problem {
            kind: format!("/problems/{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            code: self.code().to_string(),
            detail: self.message(Tr::new(Language::Nb)),
            field,
            violations: match &self {
                AppError::RuleBroken { violations } => serde_json::to_value(violations).ok(),
                _ => None,
            },
        };
        let retry_after = self.retry_after();
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// One broken planning rule as a sentence.
pub fn describe_violation(tr: Tr, violation: &crate::domain::planner::Violation) -> String {
    use crate::domain::planner::Violation;
    match violation {
        Violation::PublicHoliday { key } => tr.f(
            "planning.violation.public_holiday",
            &[("holiday", tr.t(&format!("holiday.{key}")))],
        ),
        Violation::HolidayPeriod { key } => tr.f(
            "planning.violation.holiday_period",
            &[("period", tr.t(&format!("holiday_period.{key}")))],
        ),
        Violation::TooClose {
            other_number,
            days,
            min_days,
        } => tr.f(
            "planning.violation.too_close",
            &[
                ("number", other_number.to_string()),
                ("days", days.to_string()),
                ("min_days", min_days.to_string()),
            ],
        ),
        Violation::Clash { label, .. } => tr.f("planning.violation.clash", &[("other", label.as_str())]),
        Violation::InThePast => tr.t("planning.violation.in_the_past").to_string(),
        Violation::OutsidePeriod => tr.t("planning.violation.outside_period").to_string(),
        Violation::Weekend => tr.t("planning.violation.weekend").to_string(),
        Violation::OutsideWorkingHours => tr.t("planning.violation.outside_working_hours").to_string(),
        Violation::EndsBeforeStart => tr.t("planning.violation.ends_before_start").to_string(),
    }
}
