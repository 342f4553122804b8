//! Each organisation's unit tree, persons and role assignments in force today, kept in memory so that a
//! request does not reload them. A copy is used only while the organisation's generation
//! counter (bumped by database triggers on every unit, person or role change, from any process) and
//! the calendar day are those it was loaded at.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use mamori_core::org::OrgId;
use mamori_db::org::{self, Assignment, Organisation, Person, UnitTree};
use mamori_db::{Db, DbResult};

/// What one organisation looks like at one generation on one day.
#[derive(Debug)]
pub struct OrgSnapshot {
    /// The counter value it was loaded at.
    pub generation: i64,
    /// The day (JST, `YYYY-MM-DD`) whose assignments it holds.
    pub day: String,
    /// The organisation.
    pub org: Organisation,
    /// Its units.
    pub tree: Arc<UnitTree>,
    /// Every role assignment in force on `day`.
    pub assignments: Vec<Assignment>,
    /// Every person (active and retired), in list order, without secrets.
    pub persons: Vec<Person>,
}

/// The cache, shared by every request.
#[derive(Debug, Default)]
pub struct OrgCache {
    entries: RwLock<HashMap<i64, Arc<OrgSnapshot>>>,
}

impl OrgCache {
    /// The organisation as of now: one small query when the cached copy is current, a reload
    /// otherwise.
    pub async fn get(&self, db: &Db, org_id: OrgId, day: &str) -> DbResult<Arc<OrgSnapshot>> {
        let generation = org::generation(db, org_id).await?;
        self.get_at(db, org_id, day, generation).await
    }

    /// The organisation at `generation`, a counter value the caller has just read from the
    /// database (in the same query as the session or token): no query when the cached copy is
    /// at that generation.
    pub async fn get_at(
        &self,
        db: &Db,
        org_id: OrgId,
        day: &str,
        generation: i64,
    ) -> DbResult<Arc<OrgSnapshot>> {
        let cached = self
            .entries
            .read()
            .ok()
            .and_then(|m| m.get(&org_id.0).cloned());
        if let Some(s) = cached
            && s.generation == generation
            && s.day == day
        {
            return Ok(s);
        }
        let org = org::organisation(db, org_id).await?;
        let tree = Arc::new(org::unit_tree(db, org_id).await?);
        let assignments = org::assignments_in_force(db, org_id, day).await?;
        let persons = org::all_persons(db, org_id).await?;
        let snapshot = Arc::new(OrgSnapshot {
            persons,
            generation,
            day: day.to_owned(),
            org,
            tree,
            assignments,
        });
        if let Ok(mut m) = self.entries.write() {
            m.insert(org_id.0, snapshot.clone());
        }
        Ok(snapshot)
    }
}
