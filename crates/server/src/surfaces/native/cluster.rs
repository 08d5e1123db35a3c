//! `GET /v1/cluster` (operator only): the nodes sharing this database, whether each is
//! live, the revisions their indexes have applied and how far each lags.

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::access::OperatorAccess;
use super::error::ApiResult;
use super::routes::{schema_ref, Api, Auth, Operation};
use super::view::timestamp;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ClusterView {
    /// The node that answered.
    pub node: String,
    pub nodes: Vec<NodeView>,
}

#[derive(Serialize, ToSchema)]
pub struct NodeView {
    pub id: String,
    pub address: String,
    /// Heard from within the node timeout.
    pub live: bool,
    pub started_at: String,
    pub heartbeat_at: String,
    /// The revision its index has applied, per tenant.
    pub applied: BTreeMap<String, i64>,
    /// Committed revision minus applied, per tenant.
    pub lag: BTreeMap<String, i64>,
    /// The largest lag over its tenants.
    pub max_lag: i64,
}

pub fn register(api: &mut Api) {
    api.add(
        Operation::new(
            "get",
            "/v1/cluster",
            "get_cluster",
            "cluster",
            Auth::Operator,
        )
        .summary("The nodes sharing this database: live or not, applied revisions, lag")
        .response(200, "The cluster", Some(schema_ref("ClusterView"))),
        get(cluster),
    );
}

async fn cluster(
    State(state): State<AppState>,
    _op: OperatorAccess,
) -> ApiResult<Json<ClusterView>> {
    let nodes = state
        .cluster
        .status()
        .await?
        .into_iter()
        .map(|n| NodeView {
            max_lag: n.lag.values().copied().max().unwrap_or(0),
            id: n.record.id,
            address: n.record.address,
            live: n.live,
            started_at: timestamp(n.record.started_at),
            heartbeat_at: timestamp(n.record.heartbeat_at),
            applied: n.record.applied,
            lag: n.lag,
        })
        .collect();
    Ok(Json(ClusterView {
        node: state.cluster.id.clone(),
        nodes,
    }))
}
