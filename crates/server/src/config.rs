//! The server's configuration. The CLI fills it from flags, `GRANTD_*` variables and an
//! optional TOML file, in that order of precedence; every field has a default.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder of the embedded SQLite store, used when no `database_url` is given.
    pub data_dir: PathBuf,
    /// `postgres://...` (or `sqlite://...`) to use instead of the embedded store.
    pub database_url: Option<String>,
    /// The operator token; generated at first start when absent.
    pub admin_token: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest import (`POST /v1/tenants/{t}/import`) accepted, in bytes.
    pub max_import_bytes: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout_secs: u64,
    /// Longest a check or lookup waits for the freshness it asked for.
    pub consistency_timeout_ms: u64,
    /// How often this node looks for ended windows to write down; 0: never (another node
    /// does, or nothing follows the changes).
    pub expiry_interval_ms: u64,
    /// The file holding the key that encrypts stored secrets (data sources' passwords,
    /// access keys' secret keys): 32 bytes, as 64 hex digits. Every node of a cluster needs
    /// the same one. Absent with the embedded store: `secret.key` in the data folder, made
    /// at first need.
    pub secret_key_file: Option<PathBuf>,
    /// Whether this node runs data-source sync passes (one node per source at a time holds
    /// its lease); off: this node never connects to a data source.
    pub sync_enabled: bool,
    /// Path the console (the administrators' web pages) is served under; empty: no console.
    pub console_path: String,
    /// Path the Segment-compatible API is served under.
    pub segment_base_path: String,
    /// Requests per minute, per token and operation, for Segment's write operations.
    pub segment_write_limit: u32,
    /// Requests per minute, per token and operation, for Segment's read operations.
    pub segment_read_limit: u32,
    /// Path the SlashID-compatible API is served under.
    pub slashid_base_path: String,
    /// This node's id in the cluster; a new one at each start when absent.
    pub node_id: Option<String>,
    /// The address other nodes and operators see for this node; `listen` when absent.
    pub advertise: Option<String>,
    /// How often this node heartbeats (it also does soon after its index applies changes).
    pub heartbeat_ms: u64,
    /// A node not heard from for this long is no longer live.
    pub node_timeout_ms: u64,
    /// Audit events older than this many days are deleted (hourly); kept forever when absent.
    pub audit_retention_days: Option<u64>,
    /// PEM certificate chain to serve TLS with (with `tls_key`); plain HTTP when absent.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Most connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A client must send a request's headers within this many seconds (slowloris).
    pub header_read_timeout_secs: u64,
    /// Largest request head (request line and headers) accepted, in bytes.
    pub max_header_bytes: usize,
    /// Requests per minute one token may make for each class of route (check, read, write,
    /// admin), on every surface; unlimited when absent.
    pub rate_limit_per_token: Option<u32>,
    /// Requests per minute one tenant may receive for each class of route (check, read,
    /// write), on every surface; admin routes are not counted; unlimited when absent.
    pub rate_limit_per_tenant: Option<u32>,
    /// Longest chain of inheritance a write may make (group in group, role including role,
    /// resource under resource, permission set under set), in edges.
    pub max_nesting_depth: u32,
    /// Most roles one role may include directly.
    pub max_includes: u32,
    /// Most groups, roles, resources or sets the depth check of one write may read.
    pub max_graph_walk: u32,
    /// Most checks (or lookups) one batch request may ask; explained checks count ten.
    pub max_batch_work: u32,
    /// Requests per minute that fail authentication (no credential, or a bad one) from
    /// one client address, counted on each node; past it, 429. 0 is no limit.
    pub rate_limit_per_address: u32,
}

impl Config {
    /// How large a tenant's graphs may grow.
    pub fn graph_limits(&self) -> crate::service::GraphLimits {
        crate::service::GraphLimits {
            max_depth: self.max_nesting_depth,
            max_includes: self.max_includes,
            max_walk: self.max_graph_walk,
        }
    }

    /// The per-caller limits every surface applies.
    pub fn caller_limits(&self) -> crate::ratelimit::CallerLimits {
        crate::ratelimit::CallerLimits {
            per_token: self.rate_limit_per_token,
            per_tenant: self.rate_limit_per_tenant,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("grantd-data"),
            database_url: None,
            admin_token: None,
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 256 * 1024 * 1024,
            request_timeout_secs: 30,
            consistency_timeout_ms: 5000,
            expiry_interval_ms: 1000,
            secret_key_file: None,
            sync_enabled: true,
            console_path: "/console".into(),
            segment_base_path: "/segment".into(),
            segment_write_limit: 60,
            segment_read_limit: 600,
            slashid_base_path: "/slashid".into(),
            node_id: None,
            advertise: None,
            heartbeat_ms: 1000,
            node_timeout_ms: 10_000,
            audit_retention_days: None,
            tls_cert: None,
            tls_key: None,
            max_connections: 10_000,
            header_read_timeout_secs: 10,
            max_header_bytes: 64 * 1024,
            rate_limit_per_token: None,
            rate_limit_per_tenant: None,
            max_nesting_depth: 50,
            max_includes: 100,
            max_graph_walk: 10_000,
            max_batch_work: 1000,
            rate_limit_per_address: 60,
        }
    }
}

impl Config {
    /// The store's URL: the configured database, or the SQLite file in the data folder.
    pub fn store_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("grantd.db").display()
            ),
        }
    }
}
