//! The decision engine: "may this user do this action on that resource?", answered from an
//! immutable in-memory snapshot of one tenant, with no lock and no I/O.
//!
//! A `Snapshot` holds the tenant's subjects, resources and grants, indexed for checks:
//! every user's closure (itself, its groups transitively, its roles with the roles they
//! include) and every resource's ancestors are precomputed, and rules are keyed by
//! (target, subject) so that a check is a handful of hash probes, whatever the number of
//! grants. A snapshot is changed by applying change records in revision order (`apply`);
//! its maps are copy-on-write in shards (`cowmap`), so the server publishes a new snapshot
//! per batch of changes while readers keep the old one.
//!
//! The semantics are those of docs/DECISIONS.md; `reference` is a naive evaluator of the
//! same semantics that the property tests hold the index to.

mod apply;
mod apply_grants;
mod check;
mod closure;
pub mod cowmap;
mod explain;
mod lookup;
pub mod reference;
mod snapshot;

#[cfg(test)]
mod tests;

pub use check::{CheckQuery, ResourceQuery, Verdict};
pub use explain::{Explanation, Match};
pub use lookup::DataPathAccess;
pub use snapshot::{Op, Snapshot};
