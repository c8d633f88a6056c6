//! The one error type of the service layer: what went wrong, in the kinds a
//! caller can act on, whichever door (CLI or HTTP) the request came
//! through. Each door maps each kind once: HTTP to a status (404, 400, 413,
//! 409, 503, 500), the CLI to a message.

use crate::mine::cancel::Stopped;
use crate::search::SearchError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// What was asked for does not exist: a site, a page, a session.
    #[error("{0}")]
    NotFound(String),
    /// The request is the caller's mistake: a value out of range, an
    /// unknown choice, a pattern that does not compile.
    #[error("{0}")]
    Invalid(String),
    /// What was sent is larger than a limit allows (an upload over its
    /// size or the site's quota).
    #[error("{0}")]
    TooLarge(String),
    /// The site's stored settings break a budget (they were saved before
    /// it existed): what to fix, and how.
    #[error("{0}")]
    Conflict(String),
    /// Who asks could not be told (a wrong password or token).
    #[error("{0}")]
    Unauthorized(String),
    /// Who asks may not do this (a viewer changing settings).
    #[error("{0}")]
    Forbidden(String),
    /// It was there and is no more (an expired share link).
    #[error("{0}")]
    Gone(String),
    /// The analysis met its deadline, or its caller left.
    #[error("{0}")]
    Stopped(Stopped),
    /// Not now (search is off on this server): worth retrying later, or
    /// elsewhere.
    #[error("{0}")]
    Unavailable(String),
    /// The server's fault (the store failed): logged where it is answered,
    /// never shown to a client in detail.
    #[error("{context}: {source}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub(crate) type Result<T> = std::result::Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> ServiceError {
        ServiceError::NotFound(message.into())
    }

    pub fn unknown_site(site: &str) -> ServiceError {
        ServiceError::NotFound(format!("unknown site {site:?}"))
    }

    /// The one-line reason a client may see: the message, except for an
    /// internal error, whose detail stays in the server's log.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Internal { context, .. } => {
                format!("{context} (the server's log says why)")
            }
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => ServiceError::Invalid(m),
            StoreError::NotFound(m) => ServiceError::NotFound(m),
            // Not the server's fault, and it passes: worth a retry. The
            // detail goes to the log, as an internal error's would.
            other if other.is_disk_full() || other.is_busy() => {
                tracing::warn!("a write failed for now: {other}");
                ServiceError::Unavailable(
                    "the database cannot take writes right now (disk full or busy); retry later"
                        .into(),
                )
            }
            other => ServiceError::Internal {
                context: "the database failed",
                source: Box::new(other),
            },
        }
    }
}

impl From<Stopped> for ServiceError {
    fn from(s: Stopped) -> Self {
        ServiceError::Stopped(s)
    }
}

impl From<SearchError> for ServiceError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Query(m) => ServiceError::Invalid(m),
            other => ServiceError::Internal {
                context: "the search failed",
                source: Box::new(other),
            },
        }
    }
}
