//! The sites a store serves and the read API's token: what `trailmap site
//! add|list|remove` and `trailmap rotate-token` change, asked through the
//! service like every report (the API lists sites with [`Service::sites`]).

use super::error::{Result, ServiceError};
use super::Service;
use crate::store::{secrets, sites};

impl Service {
    /// The registered sites.
    pub(crate) fn sites(&self) -> Result<Vec<sites::Site>> {
        Ok(sites::list(&*self.store().read()?)?)
    }

    /// Registers `name` with `origins` (or adds origins to it); a
    /// non-empty `keep_query` replaces the query parameters its page paths
    /// keep.
    pub(crate) fn add_site(
        &self,
        name: &str,
        origins: &[String],
        keep_query: &[String],
    ) -> Result<sites::Site> {
        let mut conn = self.store().admin()?;
        let mut site = sites::add(&mut conn, name, origins, crate::event::now_ms())?;
        if !keep_query.is_empty() {
            sites::set_keep_query(&conn, site.id, keep_query)?;
            site.keep_query = keep_query.to_vec();
        }
        Ok(site)
    }

    /// Removes a site with all its sessions and events.
    pub(crate) fn remove_site(&self, name: &str) -> Result<()> {
        if !sites::remove(&mut self.store().admin()?, name)? {
            return Err(ServiceError::not_found(format!("no site named {name:?}")));
        }
        Ok(())
    }

    /// Replaces the read API's token; the new one, to show once.
    pub(crate) fn rotate_token(&self) -> Result<String> {
        Ok(secrets::generate_token(&self.store().admin()?)?)
    }
}
