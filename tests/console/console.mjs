// The console in a real headless Chromium against a real grantd: sign in, make a user, a
// group, a role and grants; the explorer's allow with its path, then the DENY that wins;
// a stale edit refused and said; a read-only token shown no edit control and its forged
// change refused; no other tenant's data; no change without the CSRF token; no console
// error; no serious accessibility violation (axe-core). Screenshots of each page go to
// SCREENSHOTS when it is set.
//
// Environment: GRANTD_URL, TENANT, ADMIN_TOKEN, READ_TOKEN, OPERATOR_TOKEN, OTHER_USER and
// OTHER_NAME (a user of another tenant and its name, never to be shown), SCREENSHOTS
// (optional folder).
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const base = process.env.GRANTD_URL;
const tenant = process.env.TENANT;
const adminToken = process.env.ADMIN_TOKEN;
const readToken = process.env.READ_TOKEN;
const otherUser = process.env.OTHER_USER;
const otherName = process.env.OTHER_NAME;
const operatorToken = process.env.OPERATOR_TOKEN;
const shots = process.env.SCREENSHOTS;
const consoleUrl = `${base}/console`;
if (shots) mkdirSync(shots, { recursive: true });

let steps = 0;
const step = (name) => {
  steps += 1;
  console.log(`ok ${steps} - ${name}`);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const errors = [];
const watch = (page) => {
  page.on("console", (m) => {
    // A page answered with an error status on purpose (a refused sign-in, a conflict, a
    // 404) logs its own status; the tests check those statuses. Anything else counts.
    const own = m.text().startsWith("Failed to load resource") && m.location().url === page.url();
    if (m.type() === "error" && !own) errors.push(`${page.url()}: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
};

/// A fresh browser session signed in with `token`.
async function signedIn(token) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  watch(page);
  await page.goto(`${consoleUrl}/sign-in`);
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${consoleUrl}/`), page.click("button[type=submit]")]);
  return { context, page };
}

/// Saves `json` in the editor of a new object of `kind`.
async function create(page, kind, json) {
  await page.goto(`${consoleUrl}/${kind}/new`);
  await page.fill("#body", JSON.stringify(json, null, 2));
  await Promise.all([page.waitForURL(/saved=1/), page.click("#save")]);
  assert.match(await page.textContent("main"), /Saved\./);
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

/// The native API, as the operator would script it.
async function api(method, path, body, token = adminToken) {
  const response = await fetch(`${base}/v1/tenants/${tenant}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

// Sign in.
const signInPage = await (await browser.newContext()).newPage();
watch(signInPage);
await signInPage.goto(`${consoleUrl}/sign-in`);
await shot(signInPage, "sign-in");
await signInPage.fill("#token", "not-a-token");
await signInPage.click("button[type=submit]");
assert.match(await signInPage.textContent("[role=alert]"), /not valid/);
step("a wrong token is refused at sign-in");

const admin = await signedIn(adminToken);
const page = admin.page;
assert.equal(await page.textContent("#tenant"), tenant);
assert.equal(await page.textContent("#scope"), "admin");
const cookies = await admin.context.cookies();
const session = cookies.find((c) => c.name === "grantd_console");
assert.ok(session, "a session cookie");
assert.equal(session.httpOnly, true);
assert.equal(session.sameSite, "Strict");
assert.ok(session.expires > Date.now() / 1000 && session.expires < Date.now() / 1000 + 9 * 3600);
await shot(page, "home");
step("signed in: tenant and scope shown; the cookie is HttpOnly, SameSite=Strict, bounded");

// A user, a group with the user in it, a role, a resource and a grant.
await create(page, "users", { id: "alice", name: "Alice" });
await create(page, "groups", { id: "eng", name: "Engineering" });
await create(page, "members", { group: "eng", member: { type: "user", id: "alice" } });
await create(page, "roles", { id: "viewer", actions: ["read"] });
await create(page, "resources", { type: "doc", id: "1" });
await create(page, "grants", {
  id: "eng-reads",
  subject: { type: "group", id: "eng" },
  effect: "allow",
  privilege: { type: "role", id: "viewer" },
  target: { type: "resource", resource: { type: "doc", id: "1" } },
});
await page.goto(`${consoleUrl}/users`);
assert.match(await page.textContent("table"), /alice/);
await shot(page, "users");
await page.goto(`${consoleUrl}/users/view?key=alice`);
await shot(page, "user-edit");
step("a user, a group and its member, a role, a resource and a grant made in the console");

// The explorer: allowed, and the path that decided.
const explore = `${consoleUrl}/explorer?user=alice&action=read&resource=doc%2F1`;
await page.goto(explore);
assert.equal(await page.textContent("#verdict"), "Allowed");
const paths = await page.textContent("#paths");
assert.match(paths, /user:alice/);
assert.match(paths, /group:eng/);
assert.match(paths, /eng-reads/);
assert.ok(await page.isVisible("#graph"), "the path drawn");
await shot(page, "explorer-allow");
await page.click("#lookup-subjects");
assert.match(await page.textContent("#lookup"), /alice/);
step("the explorer allows, with the path through the group to the grant; who can reach it");

await create(page, "grants", {
  id: "alice-denied",
  subject: { type: "user", id: "alice" },
  effect: "deny",
  privilege: { type: "actions", actions: ["read"] },
  target: { type: "resource", resource: { type: "doc", id: "1" } },
});
await page.goto(explore);
assert.equal(await page.textContent("#verdict"), "Denied");
assert.match(await page.textContent("#paths"), /alice-denied/);
assert.match(await page.textContent("#paths"), /DENY/);
await shot(page, "explorer-deny");
step("a DENY grant added: the explorer denies, naming it");

// An edit against a version someone else has since changed: refused, said, not written.
await page.goto(`${consoleUrl}/users/view?key=alice`);
const opened = await page.textContent("#version");
const elsewhere = await api("PATCH", "/users/alice", { name: "Alice (changed elsewhere)" });
assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
await page.fill("#body", JSON.stringify({ id: "alice", name: "Alice (stale edit)" }));
const [stale] = await Promise.all([page.waitForResponse(/\/users\/save/), page.click("#save")]);
assert.equal(stale.status(), 409);
assert.match(await page.textContent("#conflict"), /changed this object since you opened it/);
await shot(page, "conflict");
const kept = await api("GET", "/users/alice");
assert.equal(kept.body.name, "Alice (changed elsewhere)");
assert.notEqual(String(kept.body.version), opened);
step("a stale edit shows the conflict and overwrites nothing");

// A read-only token: no edit control, and its forged change refused.
const reader = await signedIn(readToken);
assert.match(await reader.page.textContent(".who"), /read only/);
await reader.page.goto(`${consoleUrl}/users`);
assert.equal(await reader.page.$("#new"), null, "no New link");
await reader.page.goto(`${consoleUrl}/users/view?key=alice`);
assert.equal(await reader.page.$("#save"), null, "no Save");
assert.equal(await reader.page.$("#delete"), null, "no Delete");
assert.equal(await reader.page.$("textarea"), null, "no editor");
await shot(reader.page, "read-only");
const readerCsrf = await reader.page.getAttribute("input[name=csrf]", "value");
const forged = await reader.context.request.post(`${consoleUrl}/users/save`, {
  form: { csrf: readerCsrf, body: JSON.stringify({ id: "forged-by-reader" }) },
  maxRedirects: 0,
});
assert.equal(forged.status(), 403);
const forgedDelete = await reader.context.request.post(`${consoleUrl}/users/delete`, {
  form: { csrf: readerCsrf, key: "alice" },
  maxRedirects: 0,
});
assert.equal(forgedDelete.status(), 403);
assert.equal((await api("GET", "/users/forged-by-reader")).status, 404);
assert.equal((await api("GET", "/users/alice")).status, 200);
step("a read-scoped token sees no edit control; its forged save and delete are refused");

// No change without the session's CSRF token, even with the session's cookie.
const noToken = await admin.context.request.post(`${consoleUrl}/users/save`, {
  form: { body: JSON.stringify({ id: "no-csrf" }) },
  maxRedirects: 0,
});
assert.equal(noToken.status(), 403);
const wrongToken = await admin.context.request.post(`${consoleUrl}/users/save`, {
  form: { csrf: readerCsrf, body: JSON.stringify({ id: "no-csrf" }) },
  maxRedirects: 0,
});
assert.equal(wrongToken.status(), 403, "another session's CSRF token");
const crossSite = await admin.context.request.post(`${consoleUrl}/users/save`, {
  form: { csrf: await page.getAttribute("input[name=csrf]", "value"), body: JSON.stringify({ id: "no-csrf" }) },
  headers: { origin: "https://evil.example" },
  maxRedirects: 0,
});
assert.equal(crossSite.status(), 403, "a post from another origin");
assert.equal((await api("GET", "/users/no-csrf")).status, 404);
step("a change without the CSRF token, with another session's, or from another origin is refused");

// Another tenant's objects are never shown: not its user's id in a list, nor its name
// anywhere, nor its page.
for (const path of ["/users", `/users?q=${otherUser}`, `/users/view?key=${otherUser}`, `/explorer?user=${otherUser}&action=read&resource=doc%2F1&lookup=subjects`]) {
  const response = await page.goto(`${consoleUrl}${path}`);
  const text = await page.textContent("body");
  assert.ok(!text.includes(otherName), `${path} shows another tenant's user (${response.status()})`);
  if (path.includes("view")) assert.equal(response.status(), 404);
  else assert.ok(!(await page.textContent("main")).includes(`${otherUser}"`), path);
}
const lists = await page.goto(`${consoleUrl}/users`);
assert.equal(lists.status(), 200);
assert.ok(!(await page.textContent("table")).includes(otherUser), "another tenant's user listed");
step("no page shows another tenant's user");

// Accessibility: no serious or critical violation on any page (axe-core), in a context
// that lets the checker's script in.
const axeSource = require.resolve("axe-core/axe.min.js");
const audit = await browser.newContext({ bypassCSP: true });
await audit.addCookies(cookies);
const checked = await audit.newPage();
watch(checked);
for (const path of ["/sign-in", "/", "/users", "/users/view?key=alice", "/users/new", "/grants", explore.replace(consoleUrl, ""), "/user?id=alice", "/audit", "/tokens", "/data", "/resources/tree"]) {
  await checked.goto(`${consoleUrl}${path}`);
  await checked.addScriptTag({ path: axeSource });
  const result = await checked.evaluate(async () => await window.axe.run());
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `accessibility of ${path}`,
  );
}
step("no serious accessibility violation on any page");

// A user's page: the groups reached and how, the grants that apply (a DENY marked).
await page.goto(`${consoleUrl}/users/view?key=alice`);
await Promise.all([page.waitForURL(/\/user\?id=alice/), page.click("#access")]);
assert.match(await page.textContent("#reached"), /user:alice → group:eng/);
const applying = await page.textContent("#grants");
assert.match(applying, /eng-reads/);
assert.match(applying, /alice-denied/);
assert.match(applying, /DENY/);
await shot(page, "user-access");
step("a user's page: groups with the path to each, the grants that apply");

// The audit trail: the console's changes, the chain verified, new events appearing live.
await page.goto(`${consoleUrl}/audit`);
assert.match(await page.textContent("#trail"), /grant\.create/);
await api("POST", "/users", { id: "arrives-live" });
await page.waitForFunction(() => document.querySelector("#trail").textContent.includes("user:arrives-live"), null, { timeout: 10000 });
await shot(page, "audit");
await page.goto(`${consoleUrl}/audit?target=user:alice`);
const aboutAlice = await page.textContent("#trail tbody");
assert.match(aboutAlice, /user:alice/);
assert.doesNotMatch(aboutAlice, /arrives-live/);
await page.click("#verify");
assert.match(await page.textContent("#chain"), /The chain holds/);
step("the audit trail filters, verifies its chain, and shows a new event as it comes");

// Resources as a tree by parent: a root, its child, the way back up.
await api("POST", "/resources", { type: "folder", id: "root", labels: { env: "prod" } });
await api("POST", "/resources", { type: "folder", id: "child", parent: { type: "folder", id: "root" } });
await page.goto(`${consoleUrl}/resources`);
await page.click("#tree");
assert.match(await page.textContent("#roots"), /folder\/root/);
await page.click("text=folder/root");
assert.match(await page.textContent("#labels"), /env=prod/);
await page.click("#children >> text=folder/child");
assert.match(await page.textContent("nav[aria-label=Ancestors]"), /folder\/root/);
await shot(page, "resources-tree");
step("resources as a tree: roots, labels, children, ancestors");

// Tokens (administrators only): a secret shown once, then never; revoked from the page.
await page.goto(`${consoleUrl}/tokens`);
await page.fill("#name", "issued-in-console");
await page.selectOption("#issue-scope", "check");
await page.click("#issue");
const secret = (await page.textContent("#secret")).trim();
assert.match(secret, /^gd_/);
await shot(page, "token-issued");
await page.goto(`${consoleUrl}/tokens`);
const listed = await page.textContent("#tokens");
assert.match(listed, /issued-in-console/);
assert.ok(!(await page.content()).includes(secret), "a secret is shown once only");
const issuedId = (await api("GET", "/tokens")).body.items.find((t) => t.name === "issued-in-console").id;
await page.click(`button[aria-label="Revoke ${issuedId}"]`);
assert.ok(!(await page.textContent("#tokens")).includes("issued-in-console"));
const checkStatus = await fetch(`${base}/v1/tenants/${tenant}/check`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body: "{}" });
assert.equal(checkStatus.status, 401, "a revoked token is refused");
const readerTokens = await reader.page.goto(`${consoleUrl}/tokens`);
assert.equal(readerTokens.status(), 403);
await reader.page.goto(`${consoleUrl}/`);
assert.equal(await reader.page.$(`a[href="/console/tokens"]`), null, "no Tokens link below admin");
step("tokens: issued with the secret shown once, revoked; not offered below the admin scope");

// Data permissions: a set, its DWS permission and its member, with the sync status as
// DataArts shows it.
const set = await api("POST", "/permission-sets", { workspace: "ws", name: "analysts" });
assert.equal(set.status, 201, JSON.stringify(set.body));
const permission = await api("POST", `/permission-sets/${set.body.id}/permissions`, {
  id: "orders-read", effect: "allow", actions: ["SELECT"], datasource_type: "DWS", cluster_id: "dws1",
  database_name: "sales", schema_name: "public", table_name: "orders", auto_sync: true,
});
assert.equal(permission.status, 201, JSON.stringify(permission.body));
await api("POST", `/permission-sets/${set.body.id}/members`, { member: { type: "user", id: "alice" } });
await page.goto(`${consoleUrl}/data`);
const data = await page.textContent("main");
assert.match(data, /analysts/);
assert.match(data, /orders-read/);
assert.match(data, /SYNC_FAIL/);
assert.match(data, /no PostgreSQL data source dws1 is registered/);
assert.match(data, /user:alice/);
await shot(page, "data-permissions");
step("data permissions: a set, its permission with its sync status, its member");

// Revoking the token ends its session at once.
const tokens = await api("GET", "/tokens");
const readId = tokens.body.items.find((t) => t.scopes.length === 1 && t.scopes[0] === "read").id;
assert.equal((await api("DELETE", `/tokens/${readId}`)).status, 204);
await reader.page.goto(`${consoleUrl}/users`);
assert.equal(reader.page.url(), `${consoleUrl}/sign-in`);
step("a revoked token's session ends at once");

// The operator signs in naming the tenant, and sees it; a tenant that does not exist is refused.
const operator = await browser.newContext();
const opPage = await operator.newPage();
watch(opPage);
await opPage.goto(`${consoleUrl}/sign-in`);
await opPage.fill("#token", operatorToken);
await opPage.fill("#tenant", "no-such-tenant");
await opPage.click("button[type=submit]");
assert.match(await opPage.textContent("[role=alert]"), /no tenant no-such-tenant/);
await opPage.fill("#token", operatorToken);
await opPage.fill("#tenant", tenant);
await Promise.all([opPage.waitForURL(`${consoleUrl}/`), opPage.click("button[type=submit]")]);
assert.equal(await opPage.textContent("#tenant"), tenant);
assert.match(await opPage.textContent(".who"), /operator/);
step("the operator signs in to a tenant it names, and only to one that exists");

// Sign out: the session's cookie opens nothing any more, even replayed.
await Promise.all([page.waitForURL(`${consoleUrl}/sign-in`), page.click(".who button")]);
const replay = await browser.newContext();
await replay.addCookies(cookies);
const replayed = await replay.newPage();
await replayed.goto(`${consoleUrl}/users`);
assert.equal(replayed.url(), `${consoleUrl}/sign-in`);
step("signed out: the old cookie, replayed, opens nothing");

assert.deepEqual(errors, [], "no console errors");
step("no console error on any page");
await browser.close();
console.log(`${steps} steps passed`);
