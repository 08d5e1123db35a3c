//! Building and running the server: `Application::build(config)` opens the store, runs the
//! migrations, sets up the operator token and binds the listener; `run_until_stopped`
//! serves until the shutdown future completes, letting in-flight requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use grantd_store::{SqlStore, Store};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::auth::{bootstrap, Authenticator, Revoker};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::http::frame::FrameLayer;
use crate::http::serve::{serve, tls_config, Limits};
use crate::http::{health, metrics};
use crate::index::{spawn_follower, Indexes, Revocation};
use crate::ratelimit::{AddressLimiter, RateLimiter};
use crate::reconciler::spawn_reconciler;
use crate::service::sealing::Sealer;
use crate::service::Service;
use crate::state::{AppState, Shared};
use crate::surfaces::native::error::ApiError;
use crate::surfaces::timeout::SurfacePaths;
use crate::surfaces::{console, dataarts, native, segment, slashid};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the store: {0}")]
    Store(#[from] grantd_store::StoreError),
    #[error(
        "the admin token (--admin-token, GRANTD_ADMIN_TOKEN or admin_token) is too weak: it {0}. \
         Use a random one (e.g. `openssl rand -base64 32`), or leave it out and grantd \
         generates one"
    )]
    WeakOperatorToken(String),
    #[error("cannot set up the operator token: {0}")]
    Operator(#[from] crate::service::ServiceError),
    #[error("cannot build the decision indexes: {0}")]
    Index(grantd_store::StoreError),
    #[error("{0}")]
    SecretKey(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    router: Router,
    /// For the routes answered before the router (`native::direct`).
    state: AppState,
    config: Config,
    store: Arc<SqlStore>,
    /// Left before the store closes, so that other nodes stop waiting for this one at once.
    cluster: Arc<Cluster>,
    stopping: watch::Sender<bool>,
}

/// Opens the store the configuration names, creating the data folder for the embedded one.
pub async fn open_store(config: &Config) -> Result<SqlStore, StartError> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
    }
    Ok(SqlStore::open(&config.store_url()).await?)
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartError> {
        if let Some(weakness) = config.admin_token.as_deref().and_then(bootstrap::weakness) {
            return Err(StartError::WeakOperatorToken(weakness));
        }
        let store = Arc::new(open_store(&config).await?);
        let operator_hash =
            bootstrap::operator_token_hash(store.as_ref(), config.admin_token.as_deref()).await?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls_config(cert, key).map_err(StartError::Tls)?),
            (None, None) => None,
            _ => {
                return Err(StartError::Tls(
                    "give both tls_cert and tls_key, or neither".into(),
                ))
            }
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let dyn_store: Arc<dyn Store> = store.clone();
        let indexes = spawn_follower(dyn_store.clone())
            .await
            .map_err(StartError::Index)?;
        let (stopping, stopping_rx) = watch::channel(false);
        let address = config.advertise.clone().unwrap_or_else(|| {
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        });
        let node = config
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", uuid::Uuid::now_v7().simple()));
        let cluster = Cluster::join(
            dyn_store.clone(),
            indexes.clone(),
            node.clone(),
            address,
            Duration::from_millis(config.heartbeat_ms.max(1)),
            Duration::from_millis(config.node_timeout_ms.max(1)),
            stopping_rx.clone(),
        )
        .await?;
        let window = Duration::from_secs(60);
        let limits = if store.backend() == "postgres" {
            RateLimiter::shared(window, dyn_store.clone())
        } else {
            RateLimiter::new(window)
        };
        if let Some(days) = config.audit_retention_days {
            spawn_retention(
                Service::new(dyn_store.clone()),
                Duration::from_secs(days * 86_400),
                stopping_rx.clone(),
            );
        }
        let auth = Authenticator::new(dyn_store.clone(), &operator_hash);
        follow_revocations(indexes.revocations(), auth.revoker());
        if config.expiry_interval_ms > 0 {
            spawn_expiry(
                Service::with_indexes(dyn_store.clone(), indexes.clone()),
                indexes.clone(),
                Duration::from_millis(config.expiry_interval_ms),
                stopping_rx.clone(),
            );
        }
        let sealer = sealer(&config)?;
        match Service::new(dyn_store.clone())
            .with_sealer(sealer.clone())
            .seal_access_keys()
            .await
        {
            Ok(0) => {}
            Ok(sealed) => tracing::info!(sealed, "sealed access keys' secret keys stored in clear"),
            Err(error) => tracing::warn!(%error, "could not seal the access keys stored in clear"),
        }
        if sealer.is_none() {
            tracing::warn!(
                "no --secret-key-file: data sources cannot hold passwords and no access key can \
                 be made (their secrets are never stored in clear); start every node with the \
                 same key file to seal those an earlier version stored in clear"
            );
        }
        if config.sync_enabled {
            spawn_reconciler(
                Service::with_indexes(dyn_store.clone(), indexes.clone())
                    .with_sealer(sealer.clone()),
                indexes.clone(),
                node,
                stopping_rx.clone(),
            );
        }
        let console_key = sealer
            .clone()
            .unwrap_or_else(Sealer::random)
            .derived("grantd console sessions");
        let state = AppState::new(Shared {
            console_key,
            stopping: stopping_rx,
            service: Service::with_indexes(dyn_store.clone(), indexes)
                .with_sealer(sealer)
                .with_limits(config.graph_limits())
                .with_consistency_timeout(Duration::from_millis(config.consistency_timeout_ms)),
            auth,
            limits,
            strangers: AddressLimiter::new(config.rate_limit_per_address),
            cluster: cluster.clone(),
            config,
            transfers: crate::state::Transfers::default(),
        });
        tracing::info!(addr = %listener.local_addr().map_err(|source| StartError::Listen { addr: state.config.listen, source })?, store = store.backend(), "grantd listening");
        Ok(Application {
            listener,
            tls,
            config: state.config.clone(),
            router: router(state.clone()),
            state,
            store,
            cluster,
            stopping,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // What every request goes through, applied once around the router (layers added
        // with `Router::layer` wrap each route instead): the frame (request id in and out,
        // trailing slash, tracing, the request timeout, panics as 500s), the check answered
        // without the router, then, for the router only, the client's address (for audit
        // events; a check does not need it, and an extension costs an allocation) and the
        // body limit. Built per connection, around clones of the same router and state.
        let config = &self.config;
        let paths = SurfacePaths {
            segment: config.segment_base_path.trim_end_matches('/').to_string(),
            slashid: config.slashid_base_path.trim_end_matches('/').to_string(),
        };
        let frame = FrameLayer::new(
            Duration::from_secs(config.request_timeout_secs),
            Arc::new(move |path: &str, limit| paths.timed_out(path, limit)),
            panic_response,
        );
        let direct = native::direct::DirectLayer::new(self.state);
        let body_limit = DefaultBodyLimit::max(config.max_body_bytes);
        let router = self.router;
        let connection = move |client: SocketAddr| {
            tower::ServiceBuilder::new()
                .layer(frame.clone())
                .layer(direct.for_client(client.ip()))
                .layer(Extension(ConnectInfo(client)))
                .layer(body_limit)
                .service(router.clone())
        };
        let limits = Limits {
            max_connections: config.max_connections,
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            max_header_bytes: config.max_header_bytes,
        };
        let stopping = self.stopping;
        let shutdown = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        serve(self.listener, self.tls, connection, limits, shutdown).await?;
        self.cluster.leave().await;
        self.store.close().await;
        tracing::info!("grantd stopped");
        Ok(())
    }
}

/// The key that seals stored secrets: the configured file's; with the embedded store and
/// none configured, `secret.key` in the data folder, made at first start; else none (writes
/// that carry a secret are refused).
pub fn sealer(config: &Config) -> Result<Option<Sealer>, StartError> {
    match (&config.secret_key_file, &config.database_url) {
        (Some(path), _) => Sealer::from_file(path)
            .map(Some)
            .map_err(StartError::SecretKey),
        (None, None) => Sealer::load_or_create(&config.data_dir.join("secret.key"))
            .map(Some)
            .map_err(StartError::SecretKey),
        (None, Some(_)) => Ok(None),
    }
}

/// Writes down the grants, memberships and role assignments whose window ended, `every` so
/// often, until `stopping`: each node looks in its own index and tries;
/// `Service::record_expiry` writes each one once.
fn spawn_expiry(
    service: Service,
    indexes: Arc<Indexes>,
    every: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        // At start, every end already passed is a candidate: one that went unrecorded while
        // no node ran is written now, the others are found written.
        let mut since = i64::MIN;
        // Records that failed (the store away), tried again on the next pass.
        let mut retry: Vec<(String, grantd_core::ObjectKey)> = Vec::new();
        loop {
            let now = crate::service::now_millis();
            let mut due = std::mem::take(&mut retry);
            for tenant in indexes.applied_revisions().into_keys() {
                let Some(index) = indexes.tenant(&tenant) else {
                    continue;
                };
                due.extend(
                    index
                        .snapshot()
                        .ended(since, now)
                        .into_iter()
                        .map(|object| (tenant.clone(), object)),
                );
            }
            // An end in the second `since` falls in may be found twice, or be a retry too.
            due.sort();
            due.dedup();
            for (tenant, object) in due {
                if let Err(error) = service.record_expiry(&tenant, &object).await {
                    tracing::warn!(%error, tenant, %object, "could not record an expiry; will retry");
                    retry.push((tenant, object));
                }
            }
            // Ends in the second `now` falls in are looked at again next time.
            since = now;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stopping.changed() => return,
            }
        }
    });
}

/// Deletes audit events older than `keep`, now and every hour, until `stopping`.
fn spawn_retention(service: Service, keep: Duration, mut stopping: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            let before = chrono::Utc::now().timestamp_millis() - keep.as_millis() as i64;
            match service.prune_audit(before).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned audit events past retention"),
                Err(error) => tracing::warn!(%error, "audit retention failed; will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = stopping.changed() => return,
            }
        }
    });
}

async fn not_found() -> ApiError {
    ApiError::new("not_found", "no such route; see /docs")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        "method_not_allowed",
        "this route does not take this method; see /docs",
    )
}

fn panic_response() -> Response {
    ApiError::new(
        "internal",
        "internal error; the request id identifies it in the server log",
    )
    .into_response()
}

/// Every route, with the metrics layer that needs each route's template.
pub fn router(state: AppState) -> Router {
    let (native_routes, operations) = native::api().into_router();
    let document = Arc::new(native::openapi::document(&operations));
    let page = Arc::new(native::docs::page(&document));
    let _ = metrics::handle();
    let segment_base = state
        .config
        .segment_base_path
        .trim_end_matches('/')
        .to_string();
    let segment_routes = segment::router(&state);
    let slashid_base = state
        .config
        .slashid_base_path
        .trim_end_matches('/')
        .to_string();
    let slashid_routes = slashid::router(&state);
    let console_base = state.config.console_path.trim_end_matches('/').to_string();
    let native_routes = if console_base.is_empty() {
        native_routes
    } else {
        native_routes.nest(&console_base, console::router())
    };
    native_routes
        .nest(&segment_base, segment_routes)
        .nest(&slashid_base, slashid_routes)
        .nest("/v1/{project_id}/security", dataarts::router(&state))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route(
            "/openapi.json",
            get(move || async move { Json(document.as_ref().clone()) }),
        )
        .route(
            "/docs",
            get(move || async move { Html(page.as_ref().clone()) }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(metrics::TrackLayer)
}

/// Forgets in the token cache every revocation this node's index applies: a token revoked
/// on another node, or every token of a tenant deleted there, stops working here as soon
/// as the change arrives, and stays refused through a database outage. Ends with the
/// index, or the cache.
fn follow_revocations(mut revocations: broadcast::Receiver<Revocation>, revoker: Revoker) {
    tokio::spawn(async move {
        loop {
            let alive = match revocations.recv().await {
                Ok(Revocation::Token { tenant, id }) => revoker.token(&tenant, &id),
                Ok(Revocation::Tenant(tenant)) => revoker.tenant(&tenant),
                // Some revocations went unseen: forget every token, to be looked up again.
                Err(broadcast::error::RecvError::Lagged(_)) => revoker.everything(),
                Err(broadcast::error::RecvError::Closed) => false,
            };
            if !alive {
                return;
            }
        }
    });
}
