//! Who is calling, for which tenant, from where: built by a surface once the caller's
//! authority is checked, and written into every audit event.

use std::net::IpAddr;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `operator` or `token:<id>`.
    pub name: String,
    pub request_id: String,
    pub client_addr: Option<IpAddr>,
}

/// A request's tenant and caller. Only `surfaces::*::access` builds one, after checking
/// that the caller may act on the tenant with the scope the route needs.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub tenant: String,
    pub actor: Actor,
}
