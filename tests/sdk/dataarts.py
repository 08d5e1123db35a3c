"""Huawei Cloud's official Python SDK (huaweicloudsdkdataartsstudio) against grantd's
DataArts Security surface: every permission-set operation, signed with an access key the
native API issued (and once with X-Auth-Token), the seed's requests and answers, the
errors the SDK raises, and agreement with grantd's native check.

Run by crates/cli/tests/e2e/vendors.rs, which starts grantd and passes:
  GRANTD_URL   grantd's base URL
  PROJECT      the tenant the credentials belong to
  AK, SK       an access key pair of PROJECT (admin scope)
  TOKEN        an admin token of PROJECT (for X-Auth-Token and native setup)
  OTHER_PROJECT, OTHER_AK, OTHER_SK  another tenant and an access key pair of it
"""

import json
import os
import sys
import urllib.request

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdataartsstudio.v1 import DataArtsStudioClient
from huaweicloudsdkdataartsstudio.v1.model import *  # noqa: F401,F403 (the SDK's request models)
import huaweicloudsdkdataartsstudio.v1.model as m

URL = os.environ["GRANTD_URL"]
PROJECT = os.environ["PROJECT"]
TOKEN = os.environ["TOKEN"]
WS = "ws-0001"


def client(ak, sk, project=PROJECT):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    return (
        DataArtsStudioClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(ak, sk, project))
        .with_endpoint(URL)
        .build()
    )


def native(method, path, body=None):
    request = urllib.request.Request(
        URL + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null")


def check(user, action, path):
    status, body = native("POST", f"/v1/tenants/{PROJECT}/check", {
        "subject": {"type": "user", "id": user},
        "action": action,
        "data_path": path,
        "consistency": {"mode": "fully_consistent"},
    })
    assert status == 200, body
    return body["allowed"]


def raw(response):
    return json.loads(response.raw_content or b"null")


def fails(call, status, code=None):
    try:
        call()
    except ClientRequestException as e:
        assert e.status_code == status, (e.status_code, e.error_code, e.error_msg)
        if code:
            assert e.error_code == code, (e.error_code, e.error_msg)
        assert e.error_msg, "an error message"
        return e
    raise AssertionError("expected the call to fail")


steps = []


def step(fn):
    steps.append(fn)
    return fn


sdk = client(os.environ["AK"], os.environ["SK"])
state = {}


@step
def setup_users_groups_roles_through_the_native_api():
    for body in ({"id": "u-1", "name": "alice"}, {"id": "u-2", "name": "bob"}, {"id": "u-3", "name": "carol"}):
        assert native("POST", f"/v1/tenants/{PROJECT}/users", body)[0] == 201
    assert native("POST", f"/v1/tenants/{PROJECT}/groups", {"id": "g-1", "name": "grp1"})[0] == 201
    assert native("POST", f"/v1/tenants/{PROJECT}/groups/g-1/members", {"member": {"type": "user", "id": "u-2"}})[0] == 201
    assert native("POST", f"/v1/tenants/{PROJECT}/roles", {"id": "r-1", "name": "developer"})[0] == 201
    assert native("POST", f"/v1/tenants/{PROJECT}/role-assignments", {"subject": {"type": "user", "id": "u-3"}, "role": "r-1"})[0] == 201


@step
def security_admin_show_and_modify():
    shown = sdk.show_security_admin(m.ShowSecurityAdminRequest(workspace=WS))
    assert shown.manager_id is None
    modified = sdk.modify_security_admin(m.ModifySecurityAdminRequest(
        workspace=WS, body=m.DlsAdmin(manager_type="USER", manager_id="u-1", manager_name="alice")))
    assert modified.manager_id == "u-1"
    assert sdk.show_security_admin(m.ShowSecurityAdminRequest(workspace=WS)).manager_name == "alice"


@step
def create_show_update_list_permission_sets():
    created = sdk.create_security_permission_set(m.CreateSecurityPermissionSetRequest(
        workspace=WS, body=m.PermissionSetCreateDTO(name="analysts", parent_id="0", description="Analysts",
                                                    manager_id="u-1", manager_name="alice", manager_type="USER")))
    assert created.status_code == 200 and created.id and created.parent_id == "0"
    assert created.project_id == PROJECT and created.sync_status == "NOT_SYNC"
    assert isinstance(created.create_time, int)
    state["set"] = created.id
    sub = sdk.create_security_permission_set(m.CreateSecurityPermissionSetRequest(
        workspace=WS, body=m.PermissionSetCreateDTO(name="analysts-eu", parent_id=created.id)))
    state["sub"] = sub.id
    shown = sdk.show_security_permission_set(m.ShowSecurityPermissionSetRequest(workspace=WS, permission_set_id=created.id))
    assert shown.name == "analysts" and shown.manager_type == "USER"
    updated = sdk.update_security_permission_set(m.UpdateSecurityPermissionSetRequest(
        workspace=WS, permission_set_id=created.id, body=m.PermissionSetCreateDTO(name="analysts", description="All analysts")))
    assert updated.description == "All analysts"
    listed = sdk.list_security_permission_sets(m.ListSecurityPermissionSetsRequest(
        workspace=WS, limit=10, offset=0, name="analysts", type_filter="TOP_PERMISSION_SET", order_by="NAME", order_by_asc=True))
    assert listed.total == 1 and listed.permission_sets[0].id == created.id
    subs = sdk.list_security_permission_sets(m.ListSecurityPermissionSetsRequest(workspace=WS, parent_id=created.id))
    assert [s.id for s in subs.permission_sets] == [sub.id]
    other_ws = sdk.list_security_permission_sets(m.ListSecurityPermissionSetsRequest(workspace="ws-other"))
    assert other_ws.total == 0, "a set lives in its workspace"


@step
def the_seed_add_permission_to_a_set():
    response = sdk.create_security_permission_set_permission(m.CreateSecurityPermissionSetPermissionRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetPermissionCreateDTO(
            dw_id="dw-1", permission_type="ALLOW", permission_actions=["SELECT"], cluster_id="c-1",
            cluster_name="mrs_c1", datasource_type="HIVE", database_name="default", table_name="*",
            column_name="*", auto_sync=False)))
    assert response.status_code == 200
    assert response.permission_action == "SELECT" and response.permission_action_code == 2
    assert response.permission_actions == ["SELECT"] and response.permission_type == "ALLOW"
    assert response.table_name == "*" and response.column_name == "*"
    assert response.sync_status == "NOT_SYNC" and response.schema_name is None
    body = raw(response)
    assert isinstance(body["permission_action_code"], int) and body["namespace"] is None
    state["perm"] = response.id


@step
def the_seed_batch_create_members_answers_204():
    response = sdk.batch_create_security_permission_set_members(m.BatchCreateSecurityPermissionSetMembersRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetMemberBatchCreateDTO(
            members=[m.PermissionSetMemberCreateDTO2(member_type="USER", member_id="u-1", member_name="alice"),
                     m.PermissionSetMemberCreateDTO2(member_type="USER_GROUP", member_id="g-1", member_name="grp1")],
            auto_sync=False)))
    assert response.status_code == 204 and not response.raw_content


@step
def members_and_their_groups_may_select_as_the_set_allows():
    assert check("u-1", "SELECT", "hive/c-1/default/orders")
    assert check("u-1", "SELECT", "hive/c-1/default/orders/amount")
    assert check("u-2", "SELECT", "hive/c-1/default/orders"), "a member group's member"
    assert not check("u-1", "DROP", "hive/c-1/default/orders")
    assert not check("u-1", "SELECT", "hive/c-1/sales/orders")
    assert not check("u-3", "SELECT", "hive/c-1/default/orders")


@step
def a_workspace_role_member_gives_the_set_to_the_roles_holders():
    member = sdk.create_security_permission_set_member(m.CreateSecurityPermissionSetMemberRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetMemberCreateDTO(
            member_type="WORKSPACE_ROLE", member_id="r-1", member_name="developer", workspace=WS, auto_sync=False)))
    assert member.status_code == 200 and member.member_status == "NORMAL"
    state["role_member"] = member.id
    assert check("u-3", "SELECT", "hive/c-1/default/orders")


@step
def deny_wins_and_more_permissions_append():
    appended = sdk.batch_create_security_permission_set_permissions(m.BatchCreateSecurityPermissionSetPermissionsRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetPermissionCreateDTO(
            permission_type="DENY", permission_actions=["SELECT"], cluster_id="c-1", datasource_type="HIVE",
            database_name="default", table_name="salaries")))
    assert appended.total == 1
    state["deny"] = appended.permissions[0].id
    assert not check("u-1", "SELECT", "hive/c-1/default/salaries")
    assert check("u-1", "SELECT", "hive/c-1/default/orders")


@step
def list_and_update_permissions():
    listed = sdk.list_security_permission_set_permissions(m.ListSecurityPermissionSetPermissionsRequest(
        workspace=WS, permission_set_id=state["set"], limit=10, offset=0, permission_type="ALLOW"))
    assert listed.total == 1 and listed.permissions[0].id == state["perm"]
    updated = sdk.update_security_permission_set_permission(m.UpdateSecurityPermissionSetPermissionRequest(
        workspace=WS, permission_set_id=state["set"], permission_id=state["perm"],
        body=m.PermissionSetPermissionUpdateDTO(dw_id="dw-1", permission_actions=["SELECT", "DROP"])))
    assert updated.permission_action_code == 2 | 16
    assert check("u-1", "DROP", "hive/c-1/default/orders")


@step
def a_sub_set_stays_within_its_parent():
    ok = sdk.create_security_permission_set_permission(m.CreateSecurityPermissionSetPermissionRequest(
        workspace=WS, permission_set_id=state["sub"], body=m.PermissionSetPermissionCreateDTO(
            permission_type="ALLOW", permission_actions=["SELECT"], cluster_id="c-1", datasource_type="HIVE",
            database_name="default", table_name="orders")))
    assert ok.id
    e = fails(lambda: sdk.create_security_permission_set_permission(m.CreateSecurityPermissionSetPermissionRequest(
        workspace=WS, permission_set_id=state["sub"], body=m.PermissionSetPermissionCreateDTO(
            permission_type="ALLOW", permission_actions=["SELECT"], cluster_id="c-1", datasource_type="HIVE",
            database_name="sales"))), 400, "DLS.0001")
    assert "parent" in e.error_msg


@step
def helpers_configurations_actions_urls_role_actions():
    configurations = raw(sdk.list_security_datasource_configurations(m.ListSecurityDatasourceConfigurationsRequest(workspace=WS)))
    hive = next(c for c in configurations["configurations"] if c["datasource_type"] == "HIVE")
    assert "SELECT" in hive["permission_actions"] and "INSERT" not in hive["permission_actions"]
    actions = raw(sdk.list_security_datasource_actions(m.ListSecurityDatasourceActionsRequest(
        workspace=WS, parent_permission_set_id=state["set"], cluster_id="c-1", datasource_type="HIVE",
        database_name="default", table_name="orders")))
    assert sorted(actions["permission_actions"]) == ["DROP", "SELECT"], actions
    urls = sdk.list_security_datasource_urls(m.ListSecurityDatasourceUrlsRequest(workspace=WS, datasource_type="HIVE"))
    assert urls.total == 0
    role_actions = raw(sdk.list_security_role_actions(m.ListSecurityRoleActionsRequest(workspace=WS, body=m.RoleActionQueryDTO(
        parent_permission_set_id="0", cluster_id="c-1", datasource_type="DLI", database_names=["db"]))))
    assert sorted(role_actions["permission_actions"]) == ["ALTER", "CREATE_TABLE", "DROP", "INSERT", "SELECT"]


@step
def what_a_member_can_reach_and_from_which_set():
    mine = sdk.list_security_member_permission(m.ListSecurityMemberPermissionRequest(workspace=WS, user_name="alice"))
    assert mine.total == 1 and mine.result[0].member_id == "u-1" and mine.result[0].table_name == "*"
    by_id = sdk.list_security_member_permissions_by_user_id(m.ListSecurityMemberPermissionsByUserIdRequest(
        workspace=WS, user_id="u-2"))
    assert by_id.total == 1, "through the member group"
    tables = sdk.list_security_member_table_permission(m.ListSecurityMemberTablePermissionRequest(
        workspace=WS, user_id="u-3"))
    assert tables.total == 1 and tables.member_permission_list[0].permission_source == "analysts"


@step
def list_and_remove_members_revokes_at_once():
    listed = sdk.list_security_permission_set_members(m.ListSecurityPermissionSetMembersRequest(
        workspace=WS, permission_set_id=state["set"], limit=10, offset=0, member_type="USER"))
    assert listed.total == 1 and listed.permission_set_members[0].member_id == "u-1"
    everyone = sdk.list_security_permission_set_members(m.ListSecurityPermissionSetMembersRequest(
        workspace=WS, permission_set_id=state["set"], order_by="MEMBER_NAME", order_by_asc=True))
    assert [x.member_name for x in everyone.permission_set_members] == ["alice", "developer", "grp1"]
    removed = sdk.batch_delete_security_permission_set_members(m.BatchDeleteSecurityPermissionSetMembersRequest(
        workspace=WS, permission_set_id=state["set"], body=m.BatchDeleteBaseDTO(ids=[listed.permission_set_members[0].id, state["role_member"]])))
    assert removed.status_code == 204
    assert not check("u-1", "SELECT", "hive/c-1/default/orders")
    assert not check("u-3", "SELECT", "hive/c-1/default/orders")
    assert check("u-2", "SELECT", "hive/c-1/default/orders")


@step
def removing_a_permission_revokes_at_once():
    sdk.batch_delete_security_permission_set_permissions(m.BatchDeleteSecurityPermissionSetPermissionsRequest(
        workspace=WS, permission_set_id=state["set"], body=m.BatchDeleteBaseDTO(dw_id="dw-1", ids=[state["perm"]])))
    assert not check("u-2", "SELECT", "hive/c-1/default/orders")


@step
def validation_errors_are_client_request_exceptions():
    e = fails(lambda: sdk.create_security_permission_set_permission(m.CreateSecurityPermissionSetPermissionRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetPermissionCreateDTO(
            permission_type="ALLOW", permission_actions=["INSERT"], cluster_id="c-1", datasource_type="HIVE",
            database_name="default"))), 400, "DLS.0001")
    assert "INSERT" in e.error_msg
    fails(lambda: sdk.create_security_permission_set_permission(m.CreateSecurityPermissionSetPermissionRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetPermissionCreateDTO(
            permission_type="MAYBE", permission_actions=["SELECT"], datasource_type="HIVE"))), 400, "DLS.0001")
    fails(lambda: sdk.create_security_permission_set_permission(m.CreateSecurityPermissionSetPermissionRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetPermissionCreateDTO(
            permission_actions=["SELECT"], datasource_type="ORACLE", database_name="x"))), 400, "DLS.0001")
    fails(lambda: sdk.batch_create_security_permission_set_members(m.BatchCreateSecurityPermissionSetMembersRequest(
        workspace=WS, permission_set_id=state["set"], body=m.PermissionSetMemberBatchCreateDTO(
            members=[m.PermissionSetMemberCreateDTO2(member_type="USER", member_id="nobody")]))), 400, "DLS.0001")
    fails(lambda: sdk.show_security_permission_set(m.ShowSecurityPermissionSetRequest(
        workspace=WS, permission_set_id="no-such-set")), 400, "DLS.3027")
    fails(lambda: sdk.list_security_permission_set_members(m.ListSecurityPermissionSetMembersRequest(
        workspace=WS, permission_set_id="no-such-set")), 400, "DLS.6036")
    fails(lambda: sdk.list_security_permission_sets(m.ListSecurityPermissionSetsRequest()), 400, "DLS.0001")


@step
def a_rejected_signature_and_a_foreign_project():
    e = fails(lambda: client(os.environ["AK"], "wrong-secret").list_security_permission_sets(
        m.ListSecurityPermissionSetsRequest(workspace=WS)), 401, "APIGW.0301")
    assert "signature" in e.error_msg
    fails(lambda: client("NOSUCHKEY0000000000", "x").list_security_permission_sets(
        m.ListSecurityPermissionSetsRequest(workspace=WS)), 401, "APIGW.0301")
    other = client(os.environ["OTHER_AK"], os.environ["OTHER_SK"], os.environ["OTHER_PROJECT"])
    fails(lambda: other.show_security_permission_set(m.ShowSecurityPermissionSetRequest(
        workspace=WS, permission_set_id=state["set"])), 400, "DLS.3027")
    assert other.list_security_permission_sets(m.ListSecurityPermissionSetsRequest(workspace=WS)).total == 0
    fails(lambda: client(os.environ["OTHER_AK"], os.environ["OTHER_SK"], PROJECT).list_security_permission_sets(
        m.ListSecurityPermissionSetsRequest(workspace=WS)), 401, "APIGW.0301")


@step
def x_auth_token_works_too():
    tokened = client("unused", "unused")
    tokened.preset_headers = {"X-Auth-Token": TOKEN, "Authorization": "token"}
    listed = tokened.list_security_permission_sets(m.ListSecurityPermissionSetsRequest(workspace=WS))
    assert listed.total == 2


@step
def delete_sets():
    fails(lambda: sdk.delete_security_permission_set(m.DeleteSecurityPermissionSetRequest(
        workspace=WS, permission_set_id=state["set"])), 400, "DLS.3030")
    sdk.delete_security_permission_set(m.DeleteSecurityPermissionSetRequest(workspace=WS, permission_set_id=state["sub"]))
    sdk.delete_security_permission_set(m.DeleteSecurityPermissionSetRequest(workspace=WS, permission_set_id=state["set"]))
    fails(lambda: sdk.show_security_permission_set(m.ShowSecurityPermissionSetRequest(
        workspace=WS, permission_set_id=state["set"])), 400, "DLS.3027")
    assert not check("u-2", "SELECT", "hive/c-1/default/orders")
    assert native("GET", f"/v1/tenants/{PROJECT}/roles/r-1")[1]["includes"] == []


for fn in steps:
    try:
        fn()
    except Exception:  # report which step, then fail the run
        print(f"not ok - {fn.__name__}")
        raise
    print(f"ok - {fn.__name__}")
print(f"# {len(steps)} steps passed")
sys.exit(0)
