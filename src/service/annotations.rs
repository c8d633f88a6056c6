//! Annotations: dated notes per site, for the CLI (`trailmap annotation
//! ...`), the API (`/api/sites/{site}/annotations`) and the dashboards,
//! which draw them on the time series; and the automatic ones, a page's
//! layout changing (`changes`, [`crate::store::changes`]), listed among
//! them.

use serde::Serialize;

use super::error::{Result, ServiceError};
use super::{find_site, Service};
use crate::event::Millis;
use crate::store::{annotations, changes};

/// Longest note, in characters.
pub(crate) const MAX_TEXT: usize = 200;

/// A note as the API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AnnotationView {
    pub id: i64,
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub at: Millis,
    pub text: String,
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub created: Millis,
    pub created_by: Option<String>,
    /// `note` (a person's) or `change` (a page's layout changed: `id` is
    /// the change's, for `changes`; it cannot be removed).
    pub kind: &'static str,
}

/// Automatic annotations listed per range, at most.
const CHANGES_LISTED: usize = 100;

impl From<annotations::Annotation> for AnnotationView {
    fn from(a: annotations::Annotation) -> AnnotationView {
        AnnotationView {
            id: a.id,
            at: a.at_ms,
            text: a.text,
            created: a.created_ms,
            created_by: a.created_by,
            kind: "note",
        }
    }
}

impl From<changes::LayoutChange> for AnnotationView {
    fn from(c: changes::LayoutChange) -> AnnotationView {
        let mut text = format!("Page changed: {}", c.path);
        if let Some(line) = c.added.first() {
            text.push_str(&format!(" (+ {line})"));
        }
        AnnotationView {
            id: c.id,
            at: c.at_ms,
            text,
            created: c.at_ms,
            created_by: None,
            kind: "change",
        }
    }
}

impl Service {
    /// Adds a note dated `at` to `site`.
    pub(crate) fn add_annotation(
        &self,
        site: &str,
        at: Millis,
        text: &str,
        by: Option<&str>,
        now: Millis,
    ) -> Result<AnnotationView> {
        let text = text.trim();
        let len = text.chars().count();
        if len == 0 || len > MAX_TEXT {
            return Err(ServiceError::invalid(format!(
                "text: a note has 1 to {MAX_TEXT} characters"
            )));
        }
        if text.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "text: a note is one line without control characters",
            ));
        }
        let conn = self.store.admin()?;
        let s = find_site(&conn, site)?;
        let id = annotations::add(&conn, s.id, at, text, by, now)?;
        Ok(AnnotationView {
            id,
            at,
            text: text.to_string(),
            created: now,
            created_by: by.map(str::to_string),
            kind: "note",
        })
    }

    /// The notes of `site` dated in `[from, to)`, with the pages whose
    /// layout changed then (by at least `changes`' default threshold; not
    /// those found to vary per visitor), oldest first.
    pub(crate) fn annotations(
        &self,
        site: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<AnnotationView>> {
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let mut all: Vec<AnnotationView> = annotations::list(&conn, s.id, from, to)?
            .into_iter()
            .map(AnnotationView::from)
            .collect();
        let min = super::request::bounds::MIN_CHANGE.default;
        all.extend(
            changes::list(
                &conn,
                s.id,
                Some(from),
                Some(to),
                min,
                changes::Listed::Lasting,
                CHANGES_LISTED,
            )?
            .into_iter()
            .map(AnnotationView::from),
        );
        all.sort_by_key(|a| (a.at, a.kind, a.id));
        Ok(all)
    }

    /// Removes a note of `site`.
    pub(crate) fn remove_annotation(&self, site: &str, id: i64) -> Result<()> {
        let conn = self.store.admin()?;
        let s = find_site(&conn, site)?;
        if !annotations::remove(&conn, s.id, id)? {
            return Err(ServiceError::not_found(format!(
                "no note {id} on site {site:?}"
            )));
        }
        Ok(())
    }
}
