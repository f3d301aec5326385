//! The API's extractors and result type: a body, path or query that cannot be read answers as
//! problem+json in our own words, never as axum's plain-text rejection.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::AppError;

/// A JSON body whose errors answer as problem+json.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A path parameter whose errors answer as problem+json.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Query parameters (an `IntoParams` struct) whose errors answer as problem+json.
///
/// Named `Query` on purpose: utoipa's axum support recognises a handler argument of a type
/// named `Query` and documents the struct's fields as query parameters (`in: query`); under
/// any other name they would be documented as path parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// A raw request body (a CSV file) whose errors, the size limit's 413 first, answer as
/// problem+json.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiBytes(axum::body::Bytes::from_request(request, state).await?))
    }
}

/// The field a serde error is about, and where in the text it is: a short hint that is safe to
/// show (`marks[0].user_id`, line and column), never the library's own sentence.
struct ErrorSpot {
    field: Option<String>,
    line: usize,
    column: usize,
}

fn error_spot(error: &(dyn std::error::Error + 'static)) -> ErrorSpot {
    let mut spot = ErrorSpot {
        field: None,
        line: 0,
        column: 0,
    };
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(found) = error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            spot.field = field_of(&found.path().to_string(), &found.inner().to_string());
            (spot.line, spot.column) = (found.inner().line(), found.inner().column());
            break;
        }
        if let Some(found) = error.downcast_ref::<serde_json::Error>() {
            (spot.line, spot.column) = (found.line(), found.column());
            break;
        }
        if let Some(found) = error.downcast_ref::<serde_path_to_error::Error<serde::de::value::Error>>() {
            spot.field = field_of(&found.path().to_string(), &found.inner().to_string());
            break;
        }
        cause = error.source();
    }
    spot
}

/// The path serde was at, with the name of a missing field added (serde reports a missing field
/// at its parent); `None` at the top of the body.
fn field_of(path: &str, serde_message: &str) -> Option<String> {
    let missing = serde_message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    let path = (path != ".").then_some(path);
    match (path, missing) {
        (Some(path), Some(name)) => Some(format!("{path}.{name}")),
        (Some(path), None) => Some(path.to_string()),
        (None, Some(name)) => Some(name.to_string()),
        (None, None) => None,
    }
}

/// An unreadable body or query: which field (if serde knew), in our own words.
fn invalid_fields(spot: ErrorSpot) -> AppError {
    match spot.field {
        Some(field) => AppError::Invalid {
            code: "invalid_fields",
            args: vec![("field", field.clone())],
            field: Some(field.into()),
        },
        None => AppError::Invalid {
            code: "invalid_fields",
            field: None,
            args: Vec::new(),
        },
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match &rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::Invalid {
                code: "expected_json",
                field: None,
                args: Vec::new(),
            },
            JsonRejection::JsonSyntaxError(error) => {
                let spot = error_spot(error);
                AppError::Invalid {
                    code: "invalid_json",
                    field: None,
                    args: vec![("line", spot.line.to_string()), ("column", spot.column.to_string())],
                }
            }
            JsonRejection::JsonDataError(error) => invalid_fields(error_spot(error)),
            JsonRejection::BytesRejection(rejection) => bytes_refused(rejection),
            _ => AppError::Invalid {
                code: "incomplete_body",
                field: None,
                args: Vec::new(),
            },
        }
    }
}

fn bytes_refused(rejection: &BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::BodyTooLarge
    } else {
        AppError::Invalid {
            code: "incomplete_body",
            field: None,
            args: Vec::new(),
        }
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        bytes_refused(&rejection)
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::NotFound
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        invalid_fields(error_spot(&rejection))
    }
}

pub type ApiResult<T> = Result<ApiJson<T>, AppError>;
