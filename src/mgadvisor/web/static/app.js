// mgadvisor: no inline scripts (the Content-Security-Policy forbids them). htmx does the live
// updates declared in the HTML; this file only keeps focus sensible after a swap.
document.addEventListener("htmx:afterSwap", function (event) {
  if (event.detail.target && event.detail.target.id === "live") {
    event.detail.target.setAttribute("aria-busy", "false");
  }
});
document.addEventListener("htmx:beforeRequest", function (event) {
  var live = document.getElementById("live");
  if (live) { live.setAttribute("aria-busy", "true"); }
});
