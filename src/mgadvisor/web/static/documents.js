// mgadvisor documents: print buttons and opening a saved intake file. No inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) { window.print(); }
  });
  // A link or button that posts a form of the page somewhere else (the language switch, "Save
  // intake"): the form goes as it is, so nothing typed is lost. The form's own action is put back
  // at once (a download leaves the user on the page).
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-post-form]") : null;
    var form = el ? document.getElementById(el.getAttribute("data-post-form")) : null;
    if (!form) { return; }
    event.preventDefault();
    var action = form.getAttribute("action");
    form.setAttribute("action", el.getAttribute("data-action"));
    form.submit();  // no submit event: htmx does not take it over, and no validation stops it
    form.setAttribute("action", action);
  });
  // A chosen intake file is read here and sent as text (a plain form post, like every form).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-load-into]") || !input.files.length) { return; }
    var file = input.files[0];
    if (file.size > 200 * 1024) { input.setCustomValidity("> 200 KB"); input.reportValidity(); return; }
    var reader = new FileReader();
    reader.onload = function () {
      var target = document.getElementById(input.getAttribute("data-load-into"));
      target.value = String(reader.result);
      target.form.submit();
    };
    reader.readAsText(file);
  });
})();
// Back to the intake: the fields of client data have autocomplete="off" (the browser must not
// keep health data in its form history on disk), so the browser does not fill them in again, and
// rows added with "Add a medicine" are not in the page it reloads. So the form is kept in this
// tab's sessionStorage while the user is on the advice, put back on Back, and removed at once;
// any other visit of the intake removes it too. The live advice is then asked for again.
(function () {
  var KEY = "mgadvisor-intake";
  var form = document.getElementById("intake");
  if (!form || !window.sessionStorage) { return; }
  function field(name) {
    var found = form.elements.namedItem(name);
    var add = document.getElementById("add-medicine");
    var row = /^med\.(\d+)\./.exec(name);
    for (var tries = 0; !found && row && add && tries < 25; tries++) {
      add.click();  // "Add a medicine" makes the next row
      found = form.elements.namedItem(name);
    }
    return found;
  }
  function restore(pairs) {
    pairs.forEach(function (pair) {
      var el = field(pair[0]);
      if (!el) { return; }
      var many = el.length !== undefined && !el.tagName ? Array.prototype.slice.call(el) : [el];
      many.forEach(function (one) {
        if (one.type === "checkbox" || one.type === "radio") {
          if (one.value === pair[1]) { one.checked = true; }
        } else if (one.type !== "hidden" && one.type !== "file") {
          one.value = pair[1];
        }
      });
    });
  }
  window.addEventListener("pagehide", function () {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string" && value !== "") { pairs.push([name, value]); }
    });
    sessionStorage.setItem(KEY, JSON.stringify(pairs));
  });
  window.addEventListener("pageshow", function (event) {
    var nav = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    var back = event.persisted || (nav && nav.type === "back_forward");
    var saved = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    if (!back) { return; }
    if (!event.persisted && saved) {
      form.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = false; });
      restore(JSON.parse(saved));
    }
    if (window.htmx) { setTimeout(function () { window.htmx.trigger(form, "change"); }, 0); }
  });
})();
