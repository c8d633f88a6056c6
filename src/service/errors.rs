//! `errors`: the JavaScript errors of a site's sessions (the error
//! capture's `$error` events, kept per page view by [`store::errors`]),
//! each with the sessions and views it touched, its error clicks, the
//! pages it happened on and example sessions for the player; through the
//! same filters as every report.

use serde::Serialize;

use super::table::{Cell, Table, Tables};
use crate::store::errors::{self, JsErrorGroup};

/// `errors`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ErrorsReport {
    /// Sessions in the selection.
    pub sessions: usize,
    /// Of those, sessions with at least one JavaScript error.
    pub sessions_with_errors: u64,
    /// sessions_with_errors / sessions.
    pub error_rate: f64,
    /// Distinct errors (kind, message, script and line).
    pub distinct: u64,
    /// The errors with the most sessions.
    pub errors: Vec<JsErrorGroup>,
}

impl ErrorsReport {
    /// The errors of `with_errors` (ascending ids: the sessions of the
    /// selection, `sessions` of them, that had one).
    pub(crate) fn read(
        conn: &rusqlite::Connection,
        site_id: i64,
        with_errors: &[i64],
        sessions: usize,
        top: usize,
    ) -> super::Result<ErrorsReport> {
        let found = errors::report(conn, site_id, with_errors, top)?;
        Ok(ErrorsReport {
            sessions,
            sessions_with_errors: found.sessions,
            error_rate: if sessions == 0 {
                0.0
            } else {
                found.sessions as f64 / sessions as f64
            },
            distinct: found.distinct,
            errors: found.errors,
        })
    }

    pub(crate) fn tables(&self) -> Tables {
        let mut t = Table::new(
            "errors",
            &[
                "message",
                "kind",
                "source",
                "line",
                "sessions",
                "views",
                "error clicks",
                "top page",
                "last seen",
            ],
        );
        for e in &self.errors {
            t.row(vec![
                e.message.as_str().into(),
                e.kind.as_str().into(),
                e.source.as_str().into(),
                u64::from(e.line).into(),
                e.sessions.into(),
                e.views.into(),
                e.error_clicks.into(),
                e.pages
                    .first()
                    .map(|p| p.name.as_str())
                    .unwrap_or("")
                    .into(),
                super::request::iso(e.last_ms).into(),
            ]);
        }
        Tables {
            summary: vec![
                ("sessions", self.sessions.into()),
                ("sessions with errors", self.sessions_with_errors.into()),
                ("error rate", Cell::Rate(self.error_rate)),
                ("distinct errors", self.distinct.into()),
            ],
            tables: vec![t],
        }
    }
}
