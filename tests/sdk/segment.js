// Segment's official TypeScript SDK (@segment/public-api-sdk-typescript) against a running
// grantd: every IAM and audit-trail operation, the errors a client sees (422, 404, 401,
// 429), and, when Segment's OpenAPI document is given, every success body validated
// against the schema Segment publishes for it.
//
// Run by crates/cli/tests/e2e/segment_sdk.rs, which starts grantd and passes:
//   GRANTD_URL      grantd's base URL (the native API, for setup and checks)
//   SEGMENT_BASE    the Segment surface's base URL (GRANTD_URL + /segment)
//   WORKSPACE       the tenant the tokens belong to
//   TOKEN           an admin token of WORKSPACE
//   LIMITED_TOKEN   another admin token of WORKSPACE, spent on the rate-limit test
//   READ_TOKEN      a read-only token of WORKSPACE
//   OTHER_TOKEN     an admin token of another tenant
//   SEGMENT_OPENAPI optional path to segment-openapi-32.0.5.yaml

'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const sdk = require('@segment/public-api-sdk-typescript');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const GRANTD = env('GRANTD_URL');
const BASE = env('SEGMENT_BASE');
const WORKSPACE = env('WORKSPACE');
const TOKEN = env('TOKEN');

const OWNER = '1WDUuRLxv84rrfCNUwvkrRtkxnS';
const MINIMAL = '1aEWAcU0fArxScocwH9xxLgW7r3';

function apis(token) {
  const all = sdk.configureApis(token);
  for (const api of Object.values(all)) api.basePath = BASE;
  return all;
}

// Segment's OpenAPI document: the 200 schema of each operation, compiled with ajv.
const validators = (() => {
  const file = process.env.SEGMENT_OPENAPI;
  if (!file) {
    console.log('# SEGMENT_OPENAPI not given: response bodies are not checked against Segment\'s schemas');
    return null;
  }
  const yaml = require('js-yaml');
  const Ajv = require('ajv');
  const spec = yaml.load(fs.readFileSync(file, 'utf8'));
  // OpenAPI 3.0's `nullable` as JSON Schema: `type: [t, "null"]`, or any type when untyped.
  const nullable = (node) => {
    if (Array.isArray(node)) return node.forEach(nullable);
    if (!node || typeof node !== 'object') return undefined;
    if (node.nullable === true) {
      if (typeof node.type === 'string') node.type = [node.type, 'null'];
      else if (!node.type) {
        const inner = { ...node };
        delete inner.nullable;
        for (const key of Object.keys(node)) delete node[key];
        node.anyOf = [inner, { type: 'null' }];
      }
    }
    delete node.nullable;
    return Object.values(node).forEach(nullable);
  };
  nullable(spec.components);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'segment', components: spec.components });
  const byOperation = {};
  for (const item of Object.values(spec.paths)) {
    for (const op of Object.values(item)) {
      if (!op || !op.operationId) continue;
      const ok = op.responses['200'] || op.responses['201'];
      const content = ok && ok.content && (ok.content['application/json'] || ok.content['application/vnd.segment.v1+json']);
      if (!content) continue;
      const ref = content.schema.$ref;
      byOperation[op.operationId] = ajv.compile({ $ref: `segment${ref}` });
    }
  }
  return byOperation;
})();

let validated = 0;
// Calls an SDK method, checks the raw body against Segment's schema, returns `data`.
async function call(operation, promise) {
  const result = await promise;
  if (validators) {
    const validate = validators[operation];
    assert.ok(validate, `Segment's document has no schema for ${operation}`);
    if (!validate(result.body)) {
      throw new Error(`${operation}: the body does not match Segment's schema: ${JSON.stringify(validate.errors)}\n${JSON.stringify(result.body)}`);
    }
    validated += 1;
  }
  // The SDK's model instances as plain data, for deep comparisons.
  return JSON.parse(JSON.stringify(await sdk.unwrap(Promise.resolve(result))));
}

// Calls an SDK method that must fail; returns the HttpError.
async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e.statusCode, `expected an HTTP error, got ${e}`);
    assert.ok(Array.isArray(e.body.errors) && e.body.errors.length > 0, JSON.stringify(e.body));
    return e;
  }
  throw new Error('expected the call to fail');
}

async function native(method, path, body, token = TOKEN) {
  const response = await fetch(`${GRANTD}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function check(user, action, type, id) {
  const r = await native('POST', `/v1/tenants/${WORKSPACE}/check`, {
    subject: { type: 'user', id: user },
    action,
    resource: { type, id },
    consistency: { mode: 'fully_consistent' },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.allowed;
}

const steps = [];
const step = (name, fn) => steps.push([name, fn]);
const page = (count, cursor) => (cursor ? { count, cursor } : { count });

const api = apis(TOKEN);

step('setup: users through the native API, a label on a source', async () => {
  for (const [id, email, name] of [['u1', 'ada@example.com', 'Ada'], ['u2', 'bob@example.com', 'Bob'], ['u3', 'cy@example.com', 'Cy']]) {
    const r = await native('POST', `/v1/tenants/${WORKSPACE}/users`, { id, email, name });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const r = await native('POST', `/v1/tenants/${WORKSPACE}/resources`, { type: 'SOURCE', id: 'prod-src', labels: { environment: 'prod' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});

step('getWorkspace', async () => {
  const data = await call('getWorkspace', api.workspaces.getWorkspace());
  assert.equal(data.workspace.id, WORKSPACE);
});

step('listRoles: the catalog, paged', async () => {
  const first = await call('listRoles', api.iamRoles.listRoles(page(2)));
  assert.equal(first.roles.length, 2);
  assert.deepEqual(first.roles.map((r) => r.name), ['Workspace Owner', 'Minimal Workspace Access']);
  assert.equal(first.pagination.current, 'MA==');
  assert.ok(first.pagination.totalEntries >= 14);
  const second = await call('listRoles', api.iamRoles.listRoles(page(2, first.pagination.next)));
  assert.equal(second.roles[0].name, 'Source Admin');
  assert.equal(second.pagination.previous, 'MA==');
});

step('listUsers', async () => {
  const data = await call('listUsers', api.iamUsers.listUsers(page(10)));
  assert.deepEqual(data.users.map((u) => u.email), ['ada@example.com', 'bob@example.com', 'cy@example.com']);
  assert.equal(data.pagination.totalEntries, 3);
});

step('labels: create, list', async () => {
  const created = await call('createLabel', api.labels.createLabel({ label: { key: 'team', value: 'core', description: 'Core team' } }));
  assert.deepEqual(created.label, { key: 'team', value: 'core', description: 'Core team' });
  const listed = await call('listLabels', api.labels.listLabels());
  const names = listed.labels.map((l) => `${l.key}:${l.value}`);
  assert.deepEqual(names, ['environment:dev', 'environment:prod', 'team:core']);
});

let sourceAdmin;
step('addPermissionsToUser: Source Admin on one source, workspace access restricted by label', async () => {
  const roles = await call('listRoles', api.iamRoles.listRoles(page(100)));
  sourceAdmin = roles.roles.find((r) => r.name === 'Source Admin').id;
  const data = await call('addPermissionsToUser', api.iamUsers.addPermissionsToUser('u1', {
    permissions: [
      { roleId: sourceAdmin, resources: [{ id: 's1', type: 'SOURCE' }] },
      { roleId: MINIMAL, resources: [{ id: WORKSPACE, type: 'WORKSPACE', labels: [{ key: 'environment', value: 'prod' }] }] },
    ],
  }));
  assert.equal(data.permissions.length, 2);
  assert.equal(data.permissions[0].roleName, 'Source Admin');
  assert.deepEqual(data.permissions[0].resources, [{ id: 's1', type: 'SOURCE', labels: [] }]);
  assert.deepEqual(data.permissions[1].resources[0].labels, [{ key: 'environment', value: 'prod' }]);
});

step('the native check agrees with the permissions granted through Segment', async () => {
  assert.equal(await check('u1', 'source.write', 'SOURCE', 's1'), true);
  assert.equal(await check('u1', 'source.write', 'SOURCE', 's2'), false);
  assert.equal(await check('u1', 'workspace.read', 'SOURCE', 'prod-src'), true, 'label-restricted grant covers a prod resource');
  assert.equal(await check('u1', 'workspace.read', 'SOURCE', 's1'), false, 'and nothing without the label');
  assert.equal(await check('u2', 'source.read', 'SOURCE', 's1'), false);
});

step('getUser: the permissions read back', async () => {
  const data = await call('getUser', api.iamUsers.getUser('u1'));
  assert.equal(data.user.email, 'ada@example.com');
  assert.deepEqual(data.user.permissions.map((p) => p.roleId), [sourceAdmin, MINIMAL]);
});

step('addPermissionsToUser: 422 names every invalid field', async () => {
  const e = await failure(api.iamUsers.addPermissionsToUser('u1', {
    permissions: [{ resources: [{ id: 's1', type: 'NOPE' }] }],
  }));
  assert.equal(e.statusCode, 422);
  const fields = e.body.errors.map((x) => x.field).sort();
  assert.deepEqual(fields, ['permissions.0.resources.0.type', 'permissions.0.roleId']);
  assert.equal(e.body.errors[0].type, 'input-validation');
  // unwrap rethrows the first error, as clients see it
  const first = await sdk.unwrap(api.iamUsers.addPermissionsToUser('u1', { permissions: [{ roleId: 'nope', resources: [] }] })).catch((x) => x);
  assert.equal(first.type, 'input-validation');
  assert.equal(first.field, 'permissions.0.roleId');
});

step('addPermissionsToUser: 404 for an unknown user', async () => {
  const e = await failure(api.iamUsers.addPermissionsToUser('nobody', { permissions: [] }));
  assert.equal(e.statusCode, 404);
  assert.deepEqual(e.body, { errors: [{ type: 'NotFound', message: 'Resource not found' }] });
});

step('401 for a bad token, in Segment\'s envelope, through unwrap', async () => {
  const bad = apis('not-a-token');
  const e = await failure(bad.iamUsers.listUsers(page(1)));
  assert.equal(e.statusCode, 401);
  const thrown = await sdk.unwrap(bad.iamUsers.getUser('u1')).catch((x) => x);
  assert.equal(thrown.type, 'Unauthorized');
  const readOnly = apis(env('READ_TOKEN'));
  const denied = await failure(readOnly.iamUsers.addPermissionsToUser('u1', { permissions: [] }));
  assert.equal(denied.statusCode, 401);
});

step('another workspace\'s token sees none of this one', async () => {
  const other = apis(env('OTHER_TOKEN'));
  const users = await call('listUsers', other.iamUsers.listUsers(page(10)));
  assert.equal(users.users.length, 0);
  assert.equal((await failure(other.iamUsers.getUser('u1'))).statusCode, 404);
  assert.equal((await failure(other.iamUsers.addPermissionsToUser('u1', { permissions: [] }))).statusCode, 404);
  const labels = await call('listLabels', other.labels.listLabels());
  assert.ok(!labels.labels.some((l) => l.key === 'team'));
});

step('replacePermissionsForUser', async () => {
  const data = await call('replacePermissionsForUser', api.iamUsers.replacePermissionsForUser('u1', {
    permissions: [{ roleId: OWNER, resources: [{ id: WORKSPACE, type: 'WORKSPACE' }] }],
  }));
  assert.deepEqual(data.permissions.map((p) => p.roleName), ['Workspace Owner']);
  assert.equal(await check('u1', 'source.write', 'SOURCE', 's2'), true, 'the owner may do anything');
});

let group;
step('createUserGroup, getUserGroup, listUserGroups, updateUserGroup', async () => {
  const created = await call('createUserGroup', api.iamGroups.createUserGroup({ name: 'Engineers' }));
  group = created.userGroup.id;
  assert.equal(created.userGroup.memberCount, 0);
  const got = await call('getUserGroup', api.iamGroups.getUserGroup(group));
  assert.equal(got.userGroup.name, 'Engineers');
  const listed = await call('listUserGroups', api.iamGroups.listUserGroups(page(10)));
  assert.deepEqual(listed.userGroups.map((g) => g.id), [group]);
  const updated = await call('updateUserGroup', api.iamGroups.updateUserGroup(group, { name: 'Platform' }));
  assert.equal(updated.userGroup.name, 'Platform');
});

step('addUsersToUserGroup: users join, unknown addresses are invited into the group', async () => {
  const data = await call('addUsersToUserGroup', api.iamGroups.addUsersToUserGroup(group, { emails: ['bob@example.com', 'new@example.com'] }));
  assert.equal(data.userGroup.memberCount, 1);
  const users = await call('listUsersFromUserGroup', api.iamGroups.listUsersFromUserGroup(group, page(10)));
  assert.deepEqual(users.users.map((u) => u.id), ['u2']);
  const invites = await call('listInvitesFromUserGroup', api.iamGroups.listInvitesFromUserGroup(group, page(10)));
  assert.deepEqual(invites.emails, ['new@example.com']);
  const groups = await call('listUserGroupsFromUser', api.iamUsers.listUserGroupsFromUser('u2', page(5)));
  assert.deepEqual(groups.groups, [{ id: group, name: 'Platform' }]);
});

step('group permissions reach the group\'s members', async () => {
  const added = await call('addPermissionsToUserGroup', api.iamGroups.addPermissionsToUserGroup(group, {
    permissions: [{ roleId: sourceAdmin, resources: [{ id: 's9', type: 'SOURCE' }] }],
  }));
  assert.equal(added.permissions[0].roleName, 'Source Admin');
  assert.equal(await check('u2', 'source.write', 'SOURCE', 's9'), true);
  assert.equal(await check('u3', 'source.write', 'SOURCE', 's9'), false);
  const replaced = await call('replacePermissionsForUserGroup', api.iamGroups.replacePermissionsForUserGroup(group, {
    permissions: [{ roleId: sourceAdmin, resources: [{ id: 's8', type: 'SOURCE' }] }],
  }));
  assert.deepEqual(replaced.permissions[0].resources.map((r) => r.id), ['s8']);
  assert.equal(await check('u2', 'source.write', 'SOURCE', 's9'), false);
  assert.equal(await check('u2', 'source.write', 'SOURCE', 's8'), true);
});

step('replaceUsersInUserGroup and removeUsersFromUserGroup (the singular /group/ paths)', async () => {
  const replaced = await call('replaceUsersInUserGroup', api.iamGroups.replaceUsersInUserGroup(group, { emails: ['cy@example.com'] }));
  assert.equal(replaced.userGroup.memberCount, 1);
  const users = await call('listUsersFromUserGroup', api.iamGroups.listUsersFromUserGroup(group, page(10)));
  assert.deepEqual(users.users.map((u) => u.id), ['u3']);
  assert.equal(await check('u3', 'source.write', 'SOURCE', 's8'), true);
  assert.equal(await check('u2', 'source.write', 'SOURCE', 's8'), false);
  const removed = await call('removeUsersFromUserGroup', api.iamGroups.removeUsersFromUserGroup(group, ['cy@example.com']));
  assert.equal(removed.status, 'SUCCESS');
  assert.equal(await check('u3', 'source.write', 'SOURCE', 's8'), false);
});

step('invites: create, list, accept through the native API, delete', async () => {
  const created = await call('createInvites', api.iamUsers.createInvites({
    invites: [
      { email: 'dee@example.com', permissions: [{ roleId: sourceAdmin, resources: [{ id: 's5', type: 'SOURCE' }] }] },
      { email: 'eve@example.com' },
    ],
  }));
  assert.deepEqual(created.emails, ['dee@example.com', 'eve@example.com']);
  const listed = await call('listInvites', api.iamUsers.listInvites(page(10)));
  assert.deepEqual(listed.invites, ['dee@example.com', 'eve@example.com', 'new@example.com']);
  const accepted = await native('POST', `/v1/tenants/${WORKSPACE}/invites/dee@example.com/accept`, { id: 'u4', name: 'Dee' });
  assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
  assert.equal(await check('u4', 'source.write', 'SOURCE', 's5'), true, 'the invite\'s permission came with it');
  const user = await call('getUser', api.iamUsers.getUser('u4'));
  assert.equal(user.user.email, 'dee@example.com');
  const deleted = await call('deleteInvites', api.iamUsers.deleteInvites(['eve@example.com']));
  assert.equal(deleted.status, 'SUCCESS');
  const left = await call('listInvites', api.iamUsers.listInvites(page(10)));
  assert.deepEqual(left.invites, ['new@example.com']);
});

step('listAuditEvents: the documented events, filtered and paged', async () => {
  const all = [];
  let cursor;
  do {
    const data = await call('listAuditEvents', api.auditTrail.listAuditEvents(page(5, cursor)));
    all.push(...data.events);
    cursor = data.pagination && data.pagination.next;
  } while (cursor);
  const types = new Set(all.map((e) => e.type));
  for (const t of ['Policy Created', 'User Policy Updated', 'Policy Deleted', 'User Group Created', 'User Group Updated',
    'Subjects Added to Group', 'User Added To User Group', 'Group Memberships Deleted', 'User Removed From User Group',
    'User Group Policy Updated', 'New Segment User Invited to Workspace', 'Invite Deleted', 'Label Created']) {
    assert.ok(types.has(t), `missing audit event ${t}`);
  }
  assert.equal(new Set(all.map((e) => e.id)).size, all.length, 'no event twice across pages');
  const forGroup = await call('listAuditEvents', api.auditTrail.listAuditEvents(page(100), undefined, undefined, group, 'group'));
  assert.ok(forGroup.events.length > 0 && forGroup.events.every((e) => e.resourceId === group));
  const future = await call('listAuditEvents', api.auditTrail.listAuditEvents(page(100), '2999-01-01T00:00:00Z'));
  assert.equal(future.events.length, 0);
});

step('deleteLabel, deleteUserGroup, deleteUsers', async () => {
  assert.equal((await call('deleteLabel', api.labels.deleteLabel('team', 'core'))).status, 'SUCCESS');
  assert.equal((await call('deleteUserGroup', api.iamGroups.deleteUserGroup(group))).status, 'SUCCESS');
  assert.equal((await failure(api.iamGroups.getUserGroup(group))).statusCode, 404);
  assert.equal((await call('deleteUsers', api.iamUsers.deleteUsers(['u3', 'u4']))).status, 'SUCCESS');
  assert.equal((await failure(api.iamUsers.getUser('u3'))).statusCode, 404);
  assert.equal(await check('u4', 'source.write', 'SOURCE', 's5'), false);
});

step('429 on the 61st write in a minute, with the documented body, through the SDK', async () => {
  const limited = apis(env('LIMITED_TOKEN'));
  let last;
  for (let i = 1; i <= 60; i += 1) {
    last = await limited.iamUsers.addPermissionsToUser('u1', { permissions: [] });
  }
  assert.equal(last.response.headers['x-ratelimit-remaining'], '0');
  assert.equal(last.response.headers['x-ratelimit-consumed'], '60');
  assert.ok(!Number.isNaN(Date.parse(last.response.headers['x-ratelimit-reset'])));
  const e = await failure(limited.iamUsers.addPermissionsToUser('u1', { permissions: [] }));
  assert.equal(e.statusCode, 429);
  assert.equal(e.body.errors[0].type, 'RequestError');
  assert.equal(e.body.errors[0].message, 'Too many requests');
  assert.equal(e.body.errors[0].data.remainingPoints, 0);
  assert.ok(e.body.errors[0].data.msBeforeNext > 0);
  // Other operations and other tokens have their own windows.
  await call('listUsers', limited.iamUsers.listUsers(page(1)));
  await call('addPermissionsToUser', api.iamUsers.addPermissionsToUser('u1', { permissions: [] }));
});

(async () => {
  for (const [name, fn] of steps) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      console.log(`not ok - ${name}`);
      console.error(e && e.stack ? e.stack : e);
      if (e && e.body) console.error(JSON.stringify(e.body));
      process.exit(1);
    }
  }
  console.log(`# ${steps.length} steps passed; ${validated} bodies validated against Segment's schemas`);
})();
