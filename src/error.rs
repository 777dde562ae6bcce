//! `ApiError`: the only place that maps failures to HTTP. Bodies are `{"error": "<stable_code>", "message": "…"}`;
//! internal causes are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use vane_actors::access::AccessError;
use vane_actors::admin::AdminError;
use vane_actors::experiment::ExperimentError;
use vane_actors::hub::HubError;
use vane_actors::ingest::LimitError;
use vane_actors::ingest::track_body::TrackBodyError;
use vane_actors::rate_limit::Limited;
use vane_actors::store::StoreError;

/// The JSON body of every error response.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `unknown_variation`.
    pub error: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

/// Every error a route can return.
#[derive(thiserror::Error)]
pub enum ApiError {
    /// Missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The request is malformed; `code` is stable, `message` says what is wrong.
    #[error("{message}")]
    BadRequest {
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// The request is well-formed but semantically invalid.
    #[error("{message}")]
    Unprocessable {
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// No such resource.
    #[error("{0} not found")]
    NotFound(String),
    /// The body is larger than `http.max_body_bytes`.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Too many failed admin authentications from this address; `Retry-After` says when to come back.
    #[error("too many failed attempts; retry after {} s", whole_seconds(*.0))]
    AdminLocked(std::time::Duration),
    /// The body did not arrive within `http.body_timeout_seconds`.
    #[error("request body not received within {0} s")]
    RequestTimeout(u64),
    /// Over a rate limit of the environment; `Retry-After` says when to come back.
    #[error("rate limit exceeded; retry after {} s", whole_seconds(.0.retry_after))]
    TooManyRequests(#[source] Limited),
    /// The resource exists already or changed concurrently.
    #[error("{0}")]
    Conflict(String),
    /// A dependency (database, broker) is unavailable; the client should retry.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or an unexpected failure.
    #[error("internal error")]
    Unexpected(#[from] anyhow::Error),
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::BadRequest { code, .. } | Self::Unprocessable { code, .. } => code,
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::AdminLocked(_) | Self::TooManyRequests(_) => "rate_limited",
            Self::RequestTimeout(_) => "request_timeout",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::Unexpected(_) => "internal",
        }
    }

    /// A 400 with a stable code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(format!("{what} already exists")),
            other => Self::Unavailable(other.into()),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Invalid(_) => Self::Unauthorized("missing, malformed or unknown secret"),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Body(_) => Self::BadRequest { code: "invalid_body", message: e.to_string() },
            AdminError::BadKey(_) => Self::BadRequest { code: "invalid_key", message: e.to_string() },
            AdminError::Invalid { code, message } => Self::Unprocessable { code, message },
            AdminError::NotFound(what) => Self::NotFound(what),
            AdminError::Conflict(what) => Self::Conflict(what),
            AdminError::Store(e) => Self::Unavailable(e.into()),
        }
    }
}

impl From<ExperimentError> for ApiError {
    fn from(e: ExperimentError) -> Self {
        match e {
            ExperimentError::Invalid { code, message } => Self::Unprocessable { code, message },
            ExperimentError::BadQuery { code, message } => Self::BadRequest { code, message },
            ExperimentError::NotFound(what) => Self::NotFound(what),
            ExperimentError::Store(e) => Self::from(e),
        }
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::UnknownEnvironment(_) => Self::Unauthorized("unknown environment"),
            HubError::SecretRevoked => Self::Unauthorized("the secret was revoked"),
            HubError::Store(e) => Self::Unavailable(e.into()),
            HubError::Interrupted => Self::Unavailable(anyhow::anyhow!("the hub restarted")),
        }
    }
}

impl From<Limited> for ApiError {
    fn from(e: Limited) -> Self {
        Self::TooManyRequests(e)
    }
}

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::MissingKey => Self::bad_request("invalid_end_user", e.to_string()),
            _ => Self::bad_request("limit_exceeded", e.to_string()),
        }
    }
}

/// Track bodies over a limit are 400, not 413: node and browser SDKs stop sending events for good after any other
/// 4xx than 400, 408 and 429 (sdk-behaviour.md §7).
impl From<TrackBodyError> for ApiError {
    fn from(e: TrackBodyError) -> Self {
        match e {
            TrackBodyError::Json(_) => Self::bad_request("invalid_body", e.to_string()),
            _ => Self::bad_request("limit_exceeded", e.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::AdminLocked(_) | Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, Self::Unavailable(_) | Self::Unexpected(_)) {
            tracing::error!(error = ?self, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        let wait = match self {
            Self::AdminLocked(wait) => Some(*wait),
            Self::TooManyRequests(limited) => Some(limited.retry_after),
            _ => None,
        };
        if let Some(wait) = wait {
            response.insert_header((actix_web::http::header::RETRY_AFTER, whole_seconds(wait)));
        }
        response.json(ErrorBody { error: self.code(), message: self.to_string() })
    }
}

/// Whole seconds for `Retry-After`, rounded up so a client never comes back too early.
fn whole_seconds(wait: std::time::Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}
