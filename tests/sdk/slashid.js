// grantd's SlashID surface against SlashID's own OpenAPI document: every implemented
// operation is called once or more over real HTTP; each request body is first validated
// against the operation's request schema, and each answer must have a status the
// operation declares and, when it has a body, match that status's schema.
//
// Run by crates/cli/tests/e2e/slashid_schema.rs, which starts grantd and passes:
//   SLASHID_BASE     the SlashID surface's base URL (grantd + /slashid)
//   ORG, API_KEY     an organization (tenant) and an admin token of it
//   SLASHID_OPENAPI  path to slashid-openapi.yml

'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const yaml = require('js-yaml');
const Ajv = require('ajv');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env('SLASHID_BASE');
const ORG = env('ORG');
const KEY = env('API_KEY');

const spec = yaml.load(fs.readFileSync(env('SLASHID_OPENAPI'), 'utf8'));
// OpenAPI 3.0's `nullable` as JSON Schema.
const nullable = (node) => {
  if (Array.isArray(node)) return node.forEach(nullable);
  if (!node || typeof node !== 'object') return undefined;
  if (node.nullable === true && typeof node.type === 'string') node.type = [node.type, 'null'];
  delete node.nullable;
  return Object.values(node).forEach(nullable);
};
nullable(spec.components);
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'slashid', components: spec.components });

const resolve = (node) => {
  while (node && node.$ref) {
    const parts = node.$ref.replace('#/', '').split('/');
    node = parts.reduce((n, p) => n[p], spec);
  }
  return node;
};
const rebase = (schema) => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"slashid#/components/'));
const compiled = new Map();
const validator = (schema) => {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rebase(schema)));
  return compiled.get(key);
};

const seen = new Set();
// Calls `method path` with `body`; checks both sides against the operation; returns the body.
async function call(method, template, params, body, expected, headers = {}) {
  const op = spec.paths[template] && spec.paths[template][method.toLowerCase()];
  assert.ok(op, `SlashID's document has no ${method} ${template}`);
  seen.add(op.operationId);
  if (body !== undefined) {
    const content = resolve(op.requestBody).content['application/json'];
    const validate = validator(content.schema);
    assert.ok(validate(body), `${op.operationId}: our request does not match SlashID's schema: ${JSON.stringify(validate.errors)}`);
  }
  let path = template;
  for (const [k, v] of Object.entries(params)) path = path.replace(`{${k}}`, encodeURIComponent(v));
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { 'SlashID-API-Key': KEY, 'SlashID-OrgID': ORG, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const status = String(response.status);
  assert.equal(response.status, expected, `${op.operationId}: ${status} ${text}`);
  const declared = op.responses[status];
  assert.ok(declared, `${op.operationId}: status ${status} is not declared by SlashID`);
  const answer = resolve(declared);
  const content = answer.content && answer.content['application/json'];
  if (!content) {
    assert.equal(text, '', `${op.operationId}: ${status} must have no body`);
    return null;
  }
  const parsed = JSON.parse(text);
  const validate = validator(content.schema);
  assert.ok(validate(parsed), `${op.operationId} ${status}: the answer does not match SlashID's schema: ${JSON.stringify(validate.errors)}\n${text}`);
  return parsed;
}

(async () => {
  const created = await call('POST', '/persons', {}, {
    handles: [{ type: 'email_address', value: 'ada@example.com' }], region: 'europe-belgium',
    attributes: { end_user_no_access: { plan: 'pro' } },
  }, 201);
  const ada = created.result.person_id;
  await call('POST', '/persons', {}, { handles: [{ type: 'email_address', value: 'ada@example.com' }] }, 409);
  await call('POST', '/persons', {}, { handles: [{ type: 'email_address', value: 'not-an-address' }] }, 400);
  const bob = (await call('PUT', '/persons', {}, { handles: [{ type: 'username', value: 'bob' }] }, 201)).result.person_id;
  await call('PUT', '/persons', {}, { handles: [{ type: 'username', value: 'bob' }], active: true }, 200);
  await call('GET', '/persons', {}, undefined, 200);
  await call('GET', '/persons/{person_id}', { person_id: ada }, undefined, 200);
  await call('GET', '/persons/{person_id}', { person_id: 'nobody' }, undefined, 404);
  await call('PATCH', '/persons/{person_id}', { person_id: ada }, { active: true }, 200);

  await call('POST', '/rbac/permissions', {}, { name: 'billing.invoices.list', description: 'List invoices' }, 204);
  await call('POST', '/rbac/permissions', {}, { name: 'docs/read' }, 204);
  await call('GET', '/rbac/permissions', {}, undefined, 200);
  await call('GET', '/rbac/permissions/{permission_name}', { permission_name: 'docs/read' }, undefined, 200);
  await call('GET', '/rbac/permissions/{permission_name}', { permission_name: 'no.such' }, undefined, 404);
  await call('PATCH', '/rbac/permissions/{permission_name}', { permission_name: 'docs/read' }, { description: 'Read' }, 204);

  await call('PUT', '/persons/{person_id}/additional-permissions', { person_id: ada }, { permissions: ['docs/read', 'docs/read'] }, 204);
  await call('PUT', '/persons/{person_id}/additional-permissions', { person_id: ada }, { permissions: ['no.such'] }, 400);
  await call('PUT', '/persons/{person_id}/additional-permissions', { person_id: 'nobody' }, { permissions: [] }, 404);
  await call('PUT', '/persons/{person_id}/additional-permissions', { person_id: ada }, { permissions: [] }, 412, { 'If-Match': '"stale"' });
  const direct = await call('GET', '/persons/{person_id}/additional-permissions', { person_id: ada }, undefined, 200);
  assert.deepEqual(direct.result, ['docs/read']);
  await call('GET', '/persons/{person_id}/permissions', { person_id: ada }, undefined, 200);

  await call('POST', '/rbac/roles', {}, { name: 'editor', description: 'Edits', permissions: ['billing.invoices.list'] }, 204);
  await call('GET', '/rbac/roles', {}, undefined, 200);
  await call('GET', '/rbac/roles/{role_name}', { role_name: 'editor' }, undefined, 200);
  await call('PATCH', '/rbac/roles/{role_name}', { role_name: 'editor' }, { description: 'Edits things' }, 204);
  await call('PATCH', '/rbac/roles/{role_name}', { role_name: 'editor' }, { description: 'x' }, 412, { 'If-Match': '"0"' });
  await call('PUT', '/persons/{person_id}/roles', { person_id: bob }, { roles: ['editor'] }, 204);
  const roles = await call('GET', '/persons/{person_id}/roles', { person_id: bob }, undefined, 200);
  assert.deepEqual(roles.result, ['editor']);
  const check = await call('POST', '/rbac/check', {}, { person_id: bob, permission_name: 'billing.invoices.list' }, 200);
  assert.equal(check.result.granted, true);
  await call('POST', '/rbac/check', {}, { person_id: 'nobody', permission_name: 'docs/read' }, 404);

  await call('POST', '/groups', {}, { name: 'team-a', description: 'A' }, 201);
  await call('GET', '/groups', {}, undefined, 200);
  await call('GET', '/groups/{group_name}', { group_name: 'team-a' }, undefined, 200);
  await call('POST', '/groups/{group_name}/persons', { group_name: 'team-a' }, { persons: [ada] }, 201);
  await call('GET', '/groups/{group_name}/persons', { group_name: 'team-a' }, undefined, 200);
  await call('PUT', '/persons/{person_id}/groups', { person_id: bob }, { groups: ['team-a'] }, 200);
  await call('GET', '/persons/{person_id}/groups', { person_id: bob }, undefined, 200);
  await call('DELETE', '/groups/{group_name}/persons/{person_id}', { group_name: 'team-a', person_id: ada }, undefined, 200);
  await call('DELETE', '/groups/{group_name}', { group_name: 'team-a' }, undefined, 200);

  await call('DELETE', '/rbac/roles/{role_name}', { role_name: 'editor' }, undefined, 204);
  await call('DELETE', '/rbac/permissions/{permission_name}', { permission_name: 'docs/read' }, undefined, 204);
  await call('DELETE', '/rbac/permissions/{permission_name}', { permission_name: 'docs/read' }, undefined, 404);
  await call('DELETE', '/persons/{person_id}', { person_id: ada }, undefined, 204);
  await call('DELETE', '/persons/{person_id}', { person_id: ada }, undefined, 404);

  console.log(`# ${seen.size} SlashID operations matched SlashID's document, requests and answers`);
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
