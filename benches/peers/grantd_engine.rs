//! grantd's decision index as an engine of the peer harness's in-process benchmark
//! (../shared/bench/peers/engines). `engines-with-grantd.sh` adds this file to a copy of
//! the harness, so grantd answers the identical query list beside the hashmap limit,
//! casbin-rs and cedar-policy, cross-checked against the hashmap before timing.
//!
//! The workload maps onto grantd's model as: one grantd tenant; per harness tenant tX the
//! roles `tX.admin` (includes `tX.editor`), `tX.editor` (includes `tX.viewer`), `tX.viewer`;
//! each user assigned its role; each rule a grant of its role, with the literal action, on
//! the resource `doc/doc:K`. The check is grantd's own `Snapshot::check`.

use grantd_core::decision::{CheckQuery, Op, ResourceQuery, Snapshot, Verdict};
use grantd_core::Kind;
use serde_json::json;

pub struct GrantdEngine(pub Snapshot);

impl GrantdEngine {
    pub fn build(w: &super::Workload) -> GrantdEngine {
        let mut ops = Vec::new();
        let put = |kind: Kind, body: serde_json::Value| Op::Put { kind, body };
        for t in 0..w.tenants {
            ops.push(put(Kind::Role, json!({"id": format!("t{t}.viewer")})));
            ops.push(put(Kind::Role, json!({"id": format!("t{t}.editor"), "includes": [format!("t{t}.viewer")]})));
            ops.push(put(Kind::Role, json!({"id": format!("t{t}.admin"), "includes": [format!("t{t}.editor")]})));
        }
        for u in 0..w.users {
            let (t, r) = (super::user_tenant(u, w.tenants), super::user_role(u, w.tenants));
            ops.push(put(Kind::User, json!({"id": format!("user:{u}")})));
            ops.push(put(Kind::Assignment, json!({"subject": {"type": "user", "id": format!("user:{u}")}, "role": format!("t{t}.{}", super::ROLES[r])})));
        }
        for d in 0..w.docs {
            ops.push(put(Kind::Resource, json!({"type": "doc", "id": format!("doc:{d}")})));
        }
        for i in 0..w.n {
            let (d, k) = (i / 3, i % 3);
            ops.push(put(Kind::Grant, json!({
                "id": format!("r{i}"),
                "subject": {"type": "role", "id": format!("t{}.{}", d % w.tenants, super::ROLES[k])},
                "privilege": {"type": "actions", "actions": [super::ACTIONS[k]]},
                "target": {"type": "resource", "resource": {"type": "doc", "id": format!("doc:{d}")}},
                "effect": "ALLOW"
            })));
        }
        let mut snapshot = Snapshot::new();
        snapshot.apply(1, &ops);
        GrantdEngine(snapshot)
    }
}

impl super::Engine for GrantdEngine {
    fn name(&self) -> &'static str {
        "grantd"
    }

    fn check(&self, q: &super::Query) -> bool {
        // The resource key is `doc/<id>`: built in a stack buffer, as a server would borrow it.
        let mut buf = [0u8; 64];
        let n = 4 + q.doc.len();
        buf[..4].copy_from_slice(b"doc/");
        buf[4..n].copy_from_slice(q.doc.as_bytes());
        let key = std::str::from_utf8(&buf[..n]).unwrap_or_default();
        let query = CheckQuery { user: &q.user, action: &q.action, resource: ResourceQuery::Object { key, labels: None } };
        self.0.check(&query) == Verdict::Allow
    }
}
