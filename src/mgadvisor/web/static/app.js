// mgadvisor: no inline scripts (the Content-Security-Policy forbids them). htmx does the live
// updates declared in the HTML; this file keeps focus sensible after a swap, and makes sure a
// failed update never leaves the previous advice standing.
document.addEventListener("htmx:afterSwap", function (event) {
  if (event.detail.target && event.detail.target.id === "live") {
    event.detail.target.setAttribute("aria-busy", "false");
  }
});
document.addEventListener("htmx:beforeRequest", function (event) {
  var live = document.getElementById("live");
  if (live) { live.setAttribute("aria-busy", "true"); }
});

// htmx swaps nothing when the server answers with an error (4xx/5xx) or cannot be reached, so
// the panel would go on showing the advice for what was on the form before (possibly another
// client's). On any failure: empty the panel and say why, in the page's language.
function liveUpdateFailed(event) {
  var live = document.getElementById("live");
  var target = event.detail && event.detail.target;
  if (!live || !target || target.id !== "live") { return; }
  var message = document.createElement("p");
  message.className = "error";
  message.setAttribute("role", "alert");
  message.textContent = live.getAttribute("data-error") ||
    "The advice could not be updated; the previous advice was removed.";
  live.replaceChildren(message);
  live.setAttribute("aria-busy", "false");
}
document.addEventListener("htmx:responseError", liveUpdateFailed);
document.addEventListener("htmx:sendError", liveUpdateFailed);
document.addEventListener("htmx:timeout", liveUpdateFailed);
document.addEventListener("htmx:swapError", liveUpdateFailed);
