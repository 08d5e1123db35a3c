//! The service's rules, tested without HTTP: on a real SQLite store, with this node's
//! decision index deciding the checks.

use std::sync::Arc;

use grantd_core::decision::{CheckQuery, ResourceQuery, Verdict};
use grantd_core::model::{
    DataPermission, Effect, Grant, Group, Label, PermissionSet, Role, SetMember, SubjectRef,
    SubjectType, Target, Tenant, User,
};
use grantd_core::{Kind, ObjectKey};
use grantd_store::{testing, Expect, SqlStore, Store};

use super::{
    Actor, Consistency, Ctx, PolicyRequest, Prerequisites, RequestedResource, Service, ServiceError,
};
use crate::index::spawn_follower;

async fn service() -> (Service, Ctx) {
    let url = testing::scratch_sqlite_url("service");
    let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url).await.expect("store"));
    let indexes = spawn_follower(store.clone()).await.expect("indexes");
    let service = Service::with_indexes(store, indexes);
    let actor = Actor {
        name: "operator".into(),
        request_id: "test".into(),
        client_addr: None,
    };
    let tenant = Tenant {
        id: "t1".into(),
        name: None,
        description: None,
    };
    service.create_tenant(&actor, tenant).await.expect("tenant");
    let ctx = Ctx {
        tenant: "t1".into(),
        actor,
    };
    for id in ["bob", "eve"] {
        let user = User {
            id: id.into(),
            email: Some(format!("{id}@example.com")),
            name: None,
            attributes: Default::default(),
            disabled: false,
        };
        service.create(&ctx, user).await.expect("user");
    }
    (service, ctx)
}

async fn allowed(service: &Service, user: &str, action: &str, path: &str) -> bool {
    let snapshot = service
        .snapshot("t1", Consistency::FullyConsistent)
        .await
        .expect("snapshot");
    let query = CheckQuery {
        user,
        action,
        resource: ResourceQuery::DataPath(path),
        at: super::now_millis(),
    };
    snapshot.check(&query) == Verdict::Allow
}

fn set(id: &str, parent: Option<&str>) -> PermissionSet {
    PermissionSet {
        id: id.into(),
        workspace: "w".into(),
        name: id.into(),
        parent: parent.map(str::to_string),
        description: None,
        set_type: "COMMON".into(),
        managed_cluster_id: None,
        managed_cluster_name: None,
        managed_role_name: None,
        manager_id: None,
        manager_name: None,
        manager_type: None,
        create_user: None,
        update_user: None,
    }
}

fn on_sales(id: &str, set: &str, actions: &[&str]) -> DataPermission {
    DataPermission {
        id: id.into(),
        set: set.into(),
        effect: Effect::Allow,
        actions: actions.iter().map(|a| a.to_string()).collect(),
        datasource_type: "HIVE".into(),
        dw_id: None,
        cluster_id: Some("c1".into()),
        cluster_name: None,
        database_name: Some("sales".into()),
        schema_name: None,
        table_name: None,
        column_name: None,
        url: None,
        auto_sync: false,
        row_level_security: None,
    }
}

fn user(id: &str) -> SubjectRef {
    SubjectRef {
        subject_type: SubjectType::User,
        id: id.into(),
    }
}

fn member(id: &str, set: &str, who: &str) -> SetMember {
    SetMember {
        id: id.into(),
        set: set.into(),
        member: user(who),
        member_name: None,
        workspace: None,
        create_user: None,
    }
}

#[tokio::test]
async fn a_permission_set_derives_its_role_grants_and_assignments() {
    let (service, ctx) = service().await;
    service.create(&ctx, set("ps", None)).await.expect("set");
    let role = service
        .get::<Role>("t1", "dataarts.ps.ps")
        .await
        .expect("its role");
    assert!(role.object.actions.is_empty());
    service
        .add_data_permissions(
            &ctx,
            Some("w"),
            "ps",
            vec![on_sales("p1", "ps", &["SELECT"])],
        )
        .await
        .expect("permission");
    assert!(!allowed(&service, "bob", "SELECT", "hive/c1/sales/orders").await);
    service
        .add_set_members(&ctx, Some("w"), "ps", vec![member("m1", "ps", "bob")])
        .await
        .expect("member");
    assert!(allowed(&service, "bob", "SELECT", "hive/c1/sales/orders").await);
    // Another workspace does not see the set.
    let elsewhere =
        service.add_set_members(&ctx, Some("other"), "ps", vec![member("m2", "ps", "eve")]);
    assert!(matches!(elsewhere.await, Err(ServiceError::NotFound(_))));
    // What the set derived is the set's.
    let refused = service
        .delete::<Grant>(&ctx, "dataarts.p1", Expect::Any)
        .await;
    assert!(matches!(
        refused,
        Err(ServiceError::Conflict {
            code: "derived_object",
            ..
        })
    ));
    service
        .remove_set_members(&ctx, Some("w"), "ps", &["m1".to_string()])
        .await
        .expect("removed");
    assert!(!allowed(&service, "bob", "SELECT", "hive/c1/sales/orders").await);
    service
        .delete::<PermissionSet>(&ctx, "ps", Expect::Any)
        .await
        .expect("deleted");
    for gone in [
        ObjectKey::new(Kind::Role, "dataarts.ps.ps"),
        ObjectKey::new(Kind::Grant, "dataarts.p1"),
    ] {
        let found = service
            .store()
            .get("t1", gone.kind.as_str(), &gone.key)
            .await
            .expect("read");
        assert!(found.is_none(), "{gone} went with the set");
    }
}

#[tokio::test]
async fn a_sub_set_stays_within_its_parent() {
    let (service, ctx) = service().await;
    service
        .create(&ctx, set("parent", None))
        .await
        .expect("parent");
    service
        .create(&ctx, set("sub", Some("parent")))
        .await
        .expect("sub");
    service
        .create(&ctx, on_sales("wide", "parent", &["SELECT", "DROP"]))
        .await
        .expect("wide");
    service
        .create(&ctx, on_sales("drop", "sub", &["DROP"]))
        .await
        .expect("within");
    let beyond = service
        .create(&ctx, on_sales("alter", "sub", &["ALTER"]))
        .await;
    assert!(
        matches!(beyond, Err(ServiceError::Invalid(_))),
        "{beyond:?}"
    );
    // A cycle of parents is refused.
    let mut parent = set("parent", Some("sub"));
    parent.name = "parent".into();
    let cycle = service.put(&ctx, parent, Expect::Any).await;
    assert!(matches!(
        cycle,
        Err(ServiceError::Conflict {
            code: "cycle_detected",
            ..
        })
    ));
    // Narrowing the parent takes the sub-set's uncovered permission and its grant.
    service
        .put(&ctx, on_sales("wide", "parent", &["SELECT"]), Expect::Any)
        .await
        .expect("narrowed");
    let store = service.store();
    assert!(store
        .get("t1", "data_permission", "drop")
        .await
        .expect("read")
        .is_none());
    assert!(store
        .get("t1", "grant", "dataarts.drop")
        .await
        .expect("read")
        .is_none());
    // A parent with sub-sets stays.
    let refused = service
        .delete::<PermissionSet>(&ctx, "parent", Expect::Any)
        .await;
    assert!(
        matches!(refused, Err(ServiceError::Conflict { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn policies_are_given_once_and_replaced_whole() {
    let (service, ctx) = service().await;
    let viewer = Role {
        id: "viewer".into(),
        name: None,
        description: None,
        actions: vec!["read".into()],
        includes: Vec::new(),
    };
    let prod = Label {
        key: "env".into(),
        value: "prod".into(),
        description: Some("Production".into()),
    };
    let resource = |targets: Vec<Target>| RequestedResource {
        at: "permissions.0.resources.0".into(),
        targets: Ok(targets),
        labels: vec![prod.clone()],
    };
    let request = PolicyRequest {
        at: "permissions.0".into(),
        role: "viewer".into(),
        resources: vec![resource(vec![Target::Tenant])],
    };
    let prerequisites = Prerequisites {
        roles: vec![viewer],
    };
    let give = |replace: bool| {
        let policy: &(dyn Fn(&Grant) -> bool + Sync) = &|g: &Grant| g.origin.is_some();
        let request = request.clone();
        let prerequisites = prerequisites.clone();
        let service = service.clone();
        let ctx = ctx.clone();
        async move {
            service
                .give_policies(
                    &ctx,
                    &user("bob"),
                    &[request],
                    &prerequisites,
                    replace.then_some(policy),
                    "policies",
                    |_, _| None,
                )
                .await
                .expect("given")
        }
    };
    assert_eq!(
        give(false).await.created.len(),
        1,
        "the role, created with it"
    );
    assert!(
        service
            .get::<Label>("t1", &Label::key_of("env", "prod"))
            .await
            .is_ok(),
        "the label too"
    );
    assert_eq!(give(false).await.created.len(), 0, "not twice");
    let replaced = give(true).await;
    assert_eq!((replaced.removed.len(), replaced.created.len()), (1, 1));
    // A label a grant names stays.
    let target = Target::Labels {
        resource_type: None,
        labels: [("env".to_string(), "prod".to_string())].into(),
    };
    let labelled = PolicyRequest {
        resources: vec![resource(vec![target])],
        ..request.clone()
    };
    service
        .give_policies(
            &ctx,
            &user("eve"),
            &[labelled],
            &prerequisites,
            None,
            "policies",
            |_, _| None,
        )
        .await
        .expect("labelled");
    let refused = service
        .delete::<Label>(&ctx, &Label::key_of("env", "prod"), Expect::Any)
        .await;
    assert!(matches!(
        refused,
        Err(ServiceError::Conflict {
            code: "still_referenced",
            ..
        })
    ));
    // A missing role is named where the request named it.
    let missing = PolicyRequest {
        role: "nobody".into(),
        ..request
    };
    let failed = service
        .give_policies(
            &ctx,
            &user("bob"),
            &[missing],
            &Prerequisites::default(),
            None,
            "p",
            |_, _| None,
        )
        .await;
    match failed {
        Err(ServiceError::Invalid(invalid)) => {
            assert_eq!(invalid.0[0].field, "permissions.0.roleId")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_users_roles_leave_a_sets_role_alone() {
    let (service, ctx) = service().await;
    service.create(&ctx, set("ps", None)).await.expect("set");
    service
        .create(&ctx, on_sales("p1", "ps", &["SELECT"]))
        .await
        .expect("permission");
    service
        .create(&ctx, member("m1", "ps", "bob"))
        .await
        .expect("member");
    let any: &(dyn Fn(&[String]) -> Result<(), ServiceError> + Sync) = &|_| Ok(());
    service
        .set_roles(&ctx, "bob", &[], any, "roles", None)
        .await
        .expect("set");
    assert!(
        allowed(&service, "bob", "SELECT", "hive/c1/sales").await,
        "still the set's"
    );
    assert!(service
        .assigned_roles("t1", "bob")
        .await
        .expect("roles")
        .is_empty());
    let given = service
        .set_roles(&ctx, "eve", &["dataarts.ps.ps".into()], any, "roles", None)
        .await;
    assert!(matches!(
        given,
        Err(ServiceError::Conflict {
            code: "derived_object",
            ..
        })
    ));
    let group = Group {
        id: "g".into(),
        name: None,
        description: None,
    };
    service.create(&ctx, group).await.expect("group");
    service
        .set_groups(&ctx, "bob", &["g".into()], "groups")
        .await
        .expect("groups");
}
