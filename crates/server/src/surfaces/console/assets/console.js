// grantd console: small enhancements; every page works without them.
// Puts the cursor in the first field of the page's main form.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.querySelector("main form:not(.inline) input:not([type=hidden]), main textarea");
  if (field && !document.querySelector("[role=alert]")) field.focus({ preventScroll: true });
});

// The audit trail's last page follows new events: every 2 s it asks for the rows after
// the last one shown and adds them.
document.addEventListener("DOMContentLoaded", () => {
  const trail = document.querySelector("#trail[data-rows]");
  if (!trail) return;
  const body = trail.querySelector("tbody");
  const last = () =>
    Math.max(0, ...Array.from(body.querySelectorAll("tr[data-revision]"), (r) => Number(r.dataset.revision)));
  setInterval(async () => {
    const url = new URL(trail.dataset.rows, location.href);
    url.searchParams.set("after", String(last()));
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const rows = await response.text();
    if (rows.trim()) body.insertAdjacentHTML("beforeend", rows);
  }, 2000);
});
