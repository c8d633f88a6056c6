//! A site's settings that shape its reports: path cleaning rules with the
//! query parameters kept in page paths, and journey stages with goals.
//! Checked against the pattern budgets before they are saved, the same
//! through `PUT /api/sites/{site}/rules` and `.../stages/settings` and
//! through `trailmap stages --set`.

use serde::{Deserialize, Serialize};

use super::analysis::check_settings;
use super::error::{Result, ServiceError};
use super::Service;
use crate::mine::clean::Cleaner;
pub(crate) use crate::store::sites::JourneySettings;
use crate::store::sites::{self, ExpectedStep};

/// Reads the `[budgets]` table of trailmap.toml and installs it for the
/// process (every command does, at start, so that stored rules mean the
/// same to each of them). Unknown keys and values out of range are refused.
pub(crate) fn install_budgets(table: &toml::Table) -> Result<()> {
    use serde::de::IntoDeserializer;
    let budgets = crate::mine::budget::Budgets::deserialize(
        toml::Value::Table(table.clone()).into_deserializer(),
    )
    .map_err(|e| ServiceError::invalid(format!("[budgets]: {e}")))?;
    crate::mine::budget::install(budgets).map_err(ServiceError::Invalid)
}

/// One path rule: a regex over the path (and its kept query) and its
/// replacement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rule {
    pub(crate) pattern: String,
    pub(crate) replacement: String,
}

/// A site's rules and kept query parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rules {
    pub(crate) rules: Vec<Rule>,
    /// When sent: the parameters to keep from then on; left out, unchanged.
    #[serde(default)]
    pub(crate) keep_query: Option<Vec<String>>,
}

impl Service {
    fn site_id(&self, site: &str) -> Result<i64> {
        Ok(super::find_site(&*self.store().read()?, site)?.id)
    }

    /// The site's rules and kept query parameters.
    pub(crate) fn rules(&self, site: &str) -> Result<Rules> {
        let conn = self.store().read()?;
        let s = super::find_site(&conn, site)?;
        let rules = sites::page_rules(&conn, s.id)?
            .into_iter()
            .map(|(pattern, replacement)| Rule {
                pattern,
                replacement,
            })
            .collect();
        Ok(Rules {
            rules,
            keep_query: Some(s.keep_query),
        })
    }

    /// Replaces the site's rules (after checking them against the budgets)
    /// and, when given, its kept query parameters.
    pub(crate) fn set_rules(&self, site: &str, new: &Rules) -> Result<Rules> {
        let site_id = self.site_id(site)?;
        let rules: Vec<(String, String)> = new
            .rules
            .iter()
            .map(|r| (r.pattern.clone(), r.replacement.clone()))
            .collect();
        Cleaner::new(&rules).map_err(ServiceError::Invalid)?;
        if let Some(bad) = new
            .keep_query
            .iter()
            .flatten()
            .find(|n| n.is_empty() || n.len() > 64)
        {
            return Err(ServiceError::invalid(format!(
                "keep_query: {bad:?} is not a parameter name of 1 to 64 bytes"
            )));
        }
        let mut conn = self.store().admin()?;
        sites::set_page_rules(&mut conn, site_id, &rules)?;
        if let Some(names) = &new.keep_query {
            sites::set_keep_query(&conn, site_id, names)?;
        }
        self.rules(site)
    }

    /// The site's journey stages and goals.
    pub(crate) fn journey_settings(&self, site: &str) -> Result<JourneySettings> {
        let site_id = self.site_id(site)?;
        Ok(sites::journey_settings(&*self.store().read()?, site_id)?)
    }

    /// Replaces the site's stages and goals (and its expected journey,
    /// when given), after checking them.
    pub(crate) fn set_journey_settings(
        &self,
        site: &str,
        settings: &JourneySettings,
    ) -> Result<JourneySettings> {
        let site_id = self.site_id(site)?;
        let mut settings = settings.clone();
        if settings.expected.is_none() {
            settings.expected = self.journey_settings(site)?.expected;
        }
        check_settings(&settings)?;
        sites::set_journey_settings(&self.store().admin()?, site_id, &settings)?;
        self.journey_settings(site)
    }

    /// The site's expected journey (`conformance`): none until set.
    pub(crate) fn expected_journey(&self, site: &str) -> Result<ExpectedJourney> {
        Ok(ExpectedJourney {
            steps: self.journey_settings(site)?.expected.unwrap_or_default(),
        })
    }

    /// Replaces the site's expected journey (no steps: none), after
    /// checking it.
    pub(crate) fn set_expected_journey(
        &self,
        site: &str,
        journey: &ExpectedJourney,
    ) -> Result<ExpectedJourney> {
        let mut settings = self.journey_settings(site)?;
        settings.expected = Some(journey.steps.clone());
        self.set_journey_settings(site, &settings)?;
        self.expected_journey(site)
    }
}

/// A site's expected journey, as `GET` and `PUT
/// /api/sites/{site}/conformance/model` carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExpectedJourney {
    pub steps: Vec<ExpectedStep>,
}
