//! Saved funnels: a site's funnels kept by name for the CLI (`trailmap
//! funnels ...`, `trailmap funnel --saved NAME`), the API
//! (`/api/sites/{site}/funnels`, `funnel?saved=NAME`) and the dashboards'
//! funnel editor. A saved funnel is its definition as the API's query
//! string, checked like any funnel before it is kept.

use serde::Serialize;

use super::conversions::TargetSpec;
use super::error::{Result, ServiceError};
use super::request::{FunnelRequest, QueryParams};
use super::{find_site, Service};
use crate::event::Millis;
use crate::mine::budget::PatternBudget;
use crate::store::funnels;

/// Longest funnel name, in characters.
pub(crate) const MAX_NAME: usize = 60;

/// A saved funnel as the API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SavedFunnelView {
    pub name: String,
    /// The definition, as `funnel?` takes it.
    pub query: String,
    pub steps: Vec<String>,
    /// Each step's label (its name, else its pattern).
    pub labels: Vec<String>,
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub created: Millis,
    pub created_by: Option<String>,
}

fn view(f: funnels::SavedFunnel) -> Result<SavedFunnelView> {
    let definition = decode(&f.query)?;
    Ok(SavedFunnelView {
        labels: definition.labels(),
        steps: definition.steps,
        name: f.name,
        query: f.query,
        created: f.created_ms,
        created_by: f.created_by,
    })
}

/// A stored definition, read back.
fn decode(query: &str) -> Result<FunnelRequest> {
    FunnelRequest::decode(&QueryParams::parse(Some(query)))
}

fn check_name(name: &str) -> Result<&str> {
    let name = name.trim();
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(format!(
            "name: a funnel's name is one line of 1 to {MAX_NAME} characters"
        )));
    }
    Ok(name)
}

impl Service {
    /// Saves `funnel`'s definition as `name` (replacing one of that name),
    /// after checking it as a report would.
    pub(crate) fn save_funnel(
        &self,
        site: &str,
        name: &str,
        funnel: &FunnelRequest,
        by: Option<&str>,
        now: Millis,
    ) -> Result<SavedFunnelView> {
        let name = check_name(name)?;
        if funnel.saved.is_some() {
            return Err(ServiceError::invalid(
                "saved: a saved funnel is made of steps, not of another saved funnel",
            ));
        }
        funnel.check()?;
        let mut patterns = PatternBudget::default();
        for (i, step) in funnel.steps.iter().enumerate() {
            let spec = TargetSpec::parse(step)
                .map_err(|e| ServiceError::invalid(format!("step {} ({step:?}): {e}", i + 1)))?;
            if let Some(p) = spec.page() {
                patterns
                    .compile(p)
                    .map_err(|e| ServiceError::invalid(format!("step {} ({step:?}) {e}", i + 1)))?;
            }
        }
        let query = funnel.to_query();
        let conn = self.store.admin()?;
        let s = find_site(&conn, site)?;
        funnels::save(&conn, s.id, name, &query, by, now)?;
        view(funnels::SavedFunnel {
            name: name.to_string(),
            query,
            created_ms: now,
            created_by: by.map(str::to_string),
        })
    }

    /// The site's saved funnels, by name.
    pub(crate) fn saved_funnels(&self, site: &str) -> Result<Vec<SavedFunnelView>> {
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        funnels::list(&conn, s.id)?.into_iter().map(view).collect()
    }

    /// Removes a saved funnel.
    pub(crate) fn remove_funnel(&self, site: &str, name: &str) -> Result<()> {
        let conn = self.store.admin()?;
        let s = find_site(&conn, site)?;
        if !funnels::remove(&conn, s.id, name)? {
            return Err(ServiceError::not_found(format!(
                "no saved funnel {name:?} in this site"
            )));
        }
        Ok(())
    }

    /// `funnel` with its saved definition in, when it names one.
    pub(crate) fn resolve_funnel(
        &self,
        site: &str,
        funnel: &FunnelRequest,
    ) -> Result<FunnelRequest> {
        let Some(name) = &funnel.saved else {
            return Ok(funnel.clone());
        };
        if !funnel.steps.is_empty() {
            return Err(ServiceError::invalid(
                "saved: give a saved funnel or steps, not both",
            ));
        }
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let stored = funnels::get(&conn, s.id, name)?.ok_or_else(|| {
            ServiceError::not_found(format!("no saved funnel {name:?} in this site"))
        })?;
        Ok(funnel.with_definition(decode(&stored.query)?))
    }
}
