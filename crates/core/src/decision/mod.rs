//! The decision engine: "may this user do this action on that resource?", answered from an
//! immutable in-memory snapshot of one tenant, with no lock and no I/O.
//!
//! # How a decision is made
//!
//! A check names a user, an action and a resource (or a data path). The user acts as
//! itself, as every group it is in (through nesting too), and as every role those hold,
//! with the roles they include: its *closure*. A grant *matches* when its subject is in
//! the closure, its privilege covers the action (listed actions, a permission, or a role's
//! actions as the role is now) and its target covers the resource (the tenant; the
//! resource or one of its ancestors; labels the resource carries; a data-path pattern the
//! path starts with). Then, and this is the one rule of precedence: **a matching DENY
//! wins**; otherwise a matching ALLOW allows; otherwise the answer is `no_match`, which is
//! not allowed.
//!
//! A worked example. `alice` is in group `sre`, and `sre` is in `eng`. Role `editor` has
//! the action `write` and includes role `viewer`, which has `read`. SOURCE `s1`'s parent is
//! WORKSPACE `w1`. Grant G1 gives `group:eng` the role `editor` on `w1` (ALLOW); grant G2
//! refuses `group:sre` the action `write` on `s1` (DENY). May alice `read` `s1`? Her
//! closure is {user:alice, group:sre, group:eng}; G1's subject is in it, `editor` covers
//! `read` through `viewer`, and `w1` is an ancestor of `s1`; G2 covers `write` only: allow.
//! May she `write` `s1`? G1 and G2 both match, and the DENY wins: deny. May she `read`
//! SOURCE `s2` of another workspace? Nothing matches: `no_match`.
//!
//! # How it is fast
//!
//! A `Snapshot` holds the tenant's subjects, resources and grants, indexed for checks:
//! every user's closure and every resource's ancestors are precomputed, and rules are keyed
//! by (target, subject) so that a check is a handful of hash probes, whatever the number of
//! grants. A snapshot is changed by applying change records in revision order (`apply`,
//! `apply_grants`); its maps are copy-on-write in shards (`cowmap`), so the server
//! publishes a new snapshot per batch of changes while readers keep the old one.
//!
//! The full semantics are in docs/DECISIONS.md; `reference` is a naive evaluator of the
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
pub use lookup::{DataPathAccess, DataRule, DataRules};
pub use snapshot::{Op, Snapshot};
