//! One error type for the whole server, mapped once to responses: `application/problem+json`
//! with a stable `code` for the API, an HTML page for browsers. Internal causes are logged,
//! never sent.

use axum::Json;
use axum::http::{StatusCode, header};
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
        field: Option<&'static str>,
        args: Vec<(&'static str, String)>,
    },
    #[error("conflict: {code}")]
    Conflict { code: &'static str },
    #[error("too many requests")]
    TooManyRequests,
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        AppError::Internal(error.into())
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
            field: Some(field),
            args: Vec::new(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Invalid { code, .. } | AppError::Conflict { code } => code,
            AppError::TooManyRequests => "too_many_requests",
            AppError::Internal(_) => "internal",
        }
    }

    /// A sentence a person understands, in their language.
    pub fn message(&self, tr: Tr) -> String {
        let key = format!("error.{}", self.code());
        match self {
            AppError::Invalid { args, .. } => tr.f(&key, args),
            _ => tr.t(&key).to_string(),
        }
    }

    /// Logs what the client will not see.
    pub fn log(&self) {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = %format!("{cause:#}"), "internal error");
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
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let field = match &self {
            AppError::Invalid { field, .. } => field.map(str::to_string),
            _ => None,
        };
        let problem = Problem {
            kind: format!("/problems/{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            code: self.code().to_string(),
            detail: self.message(Tr::new(Language::Nb)),
            field,
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
