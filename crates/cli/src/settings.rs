//! Where the configuration comes from: flags, then `GRANTD_*` environment variables (clap
//! reads both), then the TOML file given with `--config`, then the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use grantd_server::Config;

#[derive(Args, Debug, Clone, Default)]
pub struct Settings {
    /// TOML file with any of the settings below (flags and variables win over it).
    #[arg(long, env = "GRANTD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "GRANTD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Folder of the embedded SQLite store [default: ./grantd-data].
    #[arg(long, env = "GRANTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://...) to use instead of the embedded store.
    #[arg(long, env = "GRANTD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The operator token; generated and printed once at first start when absent.
    #[arg(long, env = "GRANTD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Largest request body accepted, in bytes [default: 1048576].
    #[arg(long, env = "GRANTD_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest import accepted, in bytes [default: 268435456].
    #[arg(long, env = "GRANTD_MAX_IMPORT_BYTES")]
    pub max_import_bytes: Option<usize>,
    /// Seconds a request may take before it is answered 408 [default: 30].
    #[arg(long, env = "GRANTD_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Milliseconds a check waits for the freshness it asks for [default: 5000].
    #[arg(long, env = "GRANTD_CONSISTENCY_TIMEOUT_MS")]
    pub consistency_timeout_ms: Option<u64>,
    /// Milliseconds between this node's looks for ended windows to write down; 0 never
    /// [default: 1000].
    #[arg(long, env = "GRANTD_EXPIRY_INTERVAL_MS")]
    pub expiry_interval_ms: Option<u64>,
    /// File holding the key (64 hex digits) that encrypts stored secrets; the same on every
    /// node [default: secret.key in the data folder, embedded store only].
    #[arg(long, env = "GRANTD_SECRET_KEY_FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,
    /// Whether this node syncs data sources (true or false) [default: true].
    #[arg(long, env = "GRANTD_SYNC_ENABLED")]
    pub sync_enabled: Option<bool>,
    /// Path the console (web pages for a tenant's administrators) is served under; "" to
    /// serve none [default: /console].
    #[arg(long, env = "GRANTD_CONSOLE_PATH")]
    pub console_path: Option<String>,
    /// Path the Segment-compatible API is served under [default: /segment].
    #[arg(long, env = "GRANTD_SEGMENT_BASE_PATH")]
    pub segment_base_path: Option<String>,
    /// Segment write operations allowed per minute, per token and operation [default: 60].
    #[arg(long, env = "GRANTD_SEGMENT_WRITE_LIMIT")]
    pub segment_write_limit: Option<u32>,
    /// Segment read operations allowed per minute, per token and operation [default: 600].
    #[arg(long, env = "GRANTD_SEGMENT_READ_LIMIT")]
    pub segment_read_limit: Option<u32>,
    /// Path the SlashID-compatible API is served under [default: /slashid].
    #[arg(long, env = "GRANTD_SLASHID_BASE_PATH")]
    pub slashid_base_path: Option<String>,
    /// This node's id in a cluster [default: a new one at each start].
    #[arg(long, env = "GRANTD_NODE_ID")]
    pub node_id: Option<String>,
    /// The address other nodes and operators see for this node [default: the listen address].
    #[arg(long, env = "GRANTD_ADVERTISE")]
    pub advertise: Option<String>,
    /// Milliseconds between heartbeats [default: 1000].
    #[arg(long, env = "GRANTD_HEARTBEAT_MS")]
    pub heartbeat_ms: Option<u64>,
    /// Milliseconds of silence after which a node is no longer live [default: 10000].
    #[arg(long, env = "GRANTD_NODE_TIMEOUT_MS")]
    pub node_timeout_ms: Option<u64>,
    /// Days audit events are kept (older ones are deleted hourly) [default: forever].
    #[arg(long, env = "GRANTD_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u64>,
    /// PEM certificate chain to serve TLS with (with --tls-key).
    #[arg(long, env = "GRANTD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "GRANTD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Most connections open at once [default: 10000].
    #[arg(long, env = "GRANTD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 10].
    #[arg(long, env = "GRANTD_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Largest request head in bytes [default: 65536].
    #[arg(long, env = "GRANTD_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Requests per minute per token, on every surface [default: unlimited].
    #[arg(long, env = "GRANTD_RATE_LIMIT_PER_TOKEN")]
    pub rate_limit_per_token: Option<u32>,
    /// Requests per minute per tenant, on every surface [default: unlimited].
    #[arg(long, env = "GRANTD_RATE_LIMIT_PER_TENANT")]
    pub rate_limit_per_tenant: Option<u32>,
    /// Longest chain of inheritance a write may make: groups in groups, roles including
    /// roles, resources under resources [default: 50].
    #[arg(long, env = "GRANTD_MAX_NESTING_DEPTH")]
    pub max_nesting_depth: Option<u32>,
    /// Most roles one role may include directly [default: 100].
    #[arg(long, env = "GRANTD_MAX_INCLUDES")]
    pub max_includes: Option<u32>,
    /// Most groups, roles, resources or sets the depth check of one write may read
    /// [default: 10000].
    #[arg(long, env = "GRANTD_MAX_GRAPH_WALK")]
    pub max_graph_walk: Option<u32>,
    /// Most checks one batch request may ask, explained checks counting ten [default: 1000].
    #[arg(long, env = "GRANTD_MAX_BATCH_WORK")]
    pub max_batch_work: Option<u32>,
    /// Failed authentications per minute per client address, 0 for no limit [default: 60].
    #[arg(long, env = "GRANTD_RATE_LIMIT_PER_ADDRESS")]
    pub rate_limit_per_address: Option<u32>,
}

impl Settings {
    /// The configuration: these settings over the file's over the defaults.
    pub fn resolve(self) -> Result<Config, String> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = self.listen {
            config.listen = v;
        }
        if let Some(v) = self.data_dir {
            config.data_dir = v;
        }
        if self.database_url.is_some() {
            config.database_url = self.database_url;
        }
        if self.admin_token.is_some() {
            config.admin_token = self.admin_token;
        }
        if let Some(v) = self.max_body_bytes {
            config.max_body_bytes = v;
        }
        if let Some(v) = self.max_import_bytes {
            config.max_import_bytes = v;
        }
        if let Some(v) = self.request_timeout_secs {
            config.request_timeout_secs = v;
        }
        if let Some(v) = self.consistency_timeout_ms {
            config.consistency_timeout_ms = v;
        }
        if let Some(v) = self.expiry_interval_ms {
            config.expiry_interval_ms = v;
        }
        if let Some(v) = self.secret_key_file {
            config.secret_key_file = Some(v);
        }
        if let Some(v) = self.sync_enabled {
            config.sync_enabled = v;
        }
        if let Some(v) = self.console_path {
            config.console_path = v;
        }
        if let Some(v) = self.segment_base_path {
            config.segment_base_path = v;
        }
        if let Some(v) = self.segment_write_limit {
            config.segment_write_limit = v;
        }
        if let Some(v) = self.segment_read_limit {
            config.segment_read_limit = v;
        }
        if let Some(v) = self.slashid_base_path {
            config.slashid_base_path = v;
        }
        if self.node_id.is_some() {
            config.node_id = self.node_id;
        }
        if self.advertise.is_some() {
            config.advertise = self.advertise;
        }
        if let Some(v) = self.heartbeat_ms {
            config.heartbeat_ms = v;
        }
        if let Some(v) = self.node_timeout_ms {
            config.node_timeout_ms = v;
        }
        if self.audit_retention_days.is_some() {
            config.audit_retention_days = self.audit_retention_days;
        }
        if self.tls_cert.is_some() {
            config.tls_cert = self.tls_cert;
        }
        if self.tls_key.is_some() {
            config.tls_key = self.tls_key;
        }
        if let Some(v) = self.max_connections {
            config.max_connections = v;
        }
        if let Some(v) = self.header_read_timeout_secs {
            config.header_read_timeout_secs = v;
        }
        if let Some(v) = self.max_header_bytes {
            config.max_header_bytes = v;
        }
        if self.rate_limit_per_token.is_some() {
            config.rate_limit_per_token = self.rate_limit_per_token;
        }
        if self.rate_limit_per_tenant.is_some() {
            config.rate_limit_per_tenant = self.rate_limit_per_tenant;
        }
        if let Some(depth) = self.max_nesting_depth {
            config.max_nesting_depth = depth;
        }
        if let Some(includes) = self.max_includes {
            config.max_includes = includes;
        }
        if let Some(walk) = self.max_graph_walk {
            config.max_graph_walk = walk;
        }
        if let Some(work) = self.max_batch_work {
            config.max_batch_work = work;
        }
        if let Some(v) = self.rate_limit_per_address {
            config.rate_limit_per_address = v;
        }
        Ok(config)
    }
}
