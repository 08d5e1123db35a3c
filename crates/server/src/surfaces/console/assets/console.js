// grantd console: small enhancements; every page works without them.
// Puts the cursor in the first field of the page's main form.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.querySelector("main form:not(.inline) input:not([type=hidden]), main textarea");
  if (field && !document.querySelector("[role=alert]")) field.focus({ preventScroll: true });
});
