// Starts Swagger UI on /openapi.json; a separate file because the CSP forbids inline scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
  // Swagger UI redraws parts of the page as operations open: after each redraw, give what it
  // leaves unnamed a name and make scrolling code blocks reachable by keyboard (axe-core:
  // label, button-name, landmark-unique, scrollable-region-focusable).
  var root = document.getElementById("swagger-ui");
  new MutationObserver(function () { accessible(root); }).observe(root, { childList: true, subtree: true });
});

function operationName(element) {
  var block = element.closest(".opblock");
  if (!block) { return ""; }
  var method = block.querySelector(".opblock-summary-method");
  var path = block.querySelector(".opblock-summary-path");
  return ((method ? method.textContent : "") + " " + (path ? path.textContent : "")).trim();
}

function accessible(root) {
  root.querySelectorAll("table[role=region]:not([aria-label])").forEach(function (table) {
    table.setAttribute("aria-label", ("Responses " + operationName(table)).trim());
  });
  root.querySelectorAll("textarea:not([aria-label]):not([aria-labelledby])").forEach(function (area) {
    area.setAttribute("aria-label", ("Request body " + operationName(area)).trim());
  });
  root.querySelectorAll(".copy-to-clipboard button:not([aria-label])").forEach(function (button) {
    button.setAttribute("aria-label", "Copy to clipboard");
  });
  root.querySelectorAll("select:not([aria-label]):not([aria-labelledby])").forEach(function (select) {
    var row = select.closest("tr[data-param-name]");
    var name = row ? row.getAttribute("data-param-name") : "value";
    select.setAttribute("aria-label", (name + " " + operationName(select)).trim());
  });
  root.querySelectorAll("pre:not([tabindex])").forEach(function (pre) {
    pre.setAttribute("tabindex", "0");
  });
}
