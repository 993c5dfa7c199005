// mgadvisor: no inline scripts (the Content-Security-Policy forbids them). htmx does the live
// updates declared in the HTML; this file makes sure the live panel never shows an advice for
// another form than the one on screen, marks the fields to correct, keeps opened "Why?"
// sections open, shows what changed next to the field being edited, and runs the intake's
// helpers (collapsible sections, a short mode, "add a medicine", pregnancy only for women).
// Without scripts the form still works: every section open, the server checks every field.
(function () {
  "use strict";

  function live() { return document.getElementById("live"); }
  function byId(id) { return document.getElementById(id); }

  // -- The live panel ----------------------------------------------------------------------

  var openKeys = [];      // data-key of the "Why?" sections open before an update
  var lastSummary = null; // {key: text} of the summary before an update
  var lastField = null;   // the field the user changed last: where a change note goes

  function summaryOf(panel) {
    var out = {};
    var items = panel ? panel.querySelectorAll(".live-summary [data-k]") : [];
    for (var i = 0; i < items.length; i++) {
      out[items[i].getAttribute("data-k")] = items[i].textContent.replace(/\s+/g, " ").trim();
    }
    return out;
  }

  function clearFieldMarks() {
    var marked = document.querySelectorAll("#intake .live-error");
    for (var i = 0; i < marked.length; i++) { marked[i].remove(); }
    var invalid = document.querySelectorAll("#intake [data-live-invalid]");
    for (var j = 0; j < invalid.length; j++) {
      invalid[j].removeAttribute("data-live-invalid");
      invalid[j].removeAttribute("aria-invalid");
      var box = invalid[j].closest(".field, .check");
      if (box && !box.querySelector(".error:not(.live-error)")) { box.classList.remove("invalid"); }
    }
    var notes = document.querySelectorAll(".change-note");
    for (var k = 0; k < notes.length; k++) { notes[k].remove(); }
  }

  // The server's messages and what it read from each field, placed next to those fields.
  function markFields(panel) {
    var items = panel.querySelectorAll(".field-data li");
    var seen = {};
    for (var i = 0; i < items.length; i++) {
      var name = items[i].getAttribute("data-field");
      var kind = items[i].getAttribute("data-kind");
      var input = byId("f-" + name);
      if (kind === "echo") {
        seen[name] = true;
        var echo = byId("o-" + name);
        if (echo) { echo.textContent = items[i].textContent; echo.hidden = false; }
        continue;
      }
      if (!input) { continue; }
      var old = byId("e-" + name);
      if (old) { old.textContent = items[i].textContent; continue; }  // already there
      var message = document.createElement("p");
      message.className = "error live-error";
      message.id = "e-" + name;
      message.textContent = items[i].textContent;
      var box = input.closest(".field, .check, fieldset");
      (box || input.parentNode).appendChild(message);
      if (box) { box.classList.add("invalid"); }
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("data-live-invalid", "");
      var described = (input.getAttribute("aria-describedby") || "").split(" ");
      if (described.indexOf(message.id) < 0) {
        input.setAttribute("aria-describedby", (message.id + " " + described.join(" ")).trim());
      }
    }
    var echoes = document.querySelectorAll("#intake .echo");
    for (var j = 0; j < echoes.length; j++) {
      if (!seen[echoes[j].id.slice(2)]) { echoes[j].hidden = true; echoes[j].textContent = ""; }
    }
  }

  // What changed in the summary, said next to the field the user just edited (where they look;
  // the panel itself may be far below on a phone).
  function noteChanges(panel) {
    var now = summaryOf(panel);
    var before = lastSummary;
    lastSummary = now;
    if (!before || !Object.keys(before).length || !lastField ||
        !document.body.contains(lastField)) { return; }
    var changed = [];
    var items = panel.querySelectorAll(".live-summary [data-k]");
    for (var i = 0; i < items.length; i++) {
      var key = items[i].getAttribute("data-k");
      if (before[key] !== now[key]) {
        items[i].classList.add("changed");
        changed.push(now[key]);
        if (key === "now") { live().scrollTop = 0; }  // a new referral: the panel's top in view
      }
    }
    var invalid = panel.querySelector(".live-summary.stale");
    if (!changed.length && !invalid) { return; }
    var note = document.createElement("p");
    note.className = "change-note";
    note.setAttribute("role", "status");
    // beside the field; for a box in a grid of checkboxes, under the grid (not a grid cell)
    var box = lastField.closest(".field, .check");
    var after = box ? null : lastField.closest(".checks, fieldset");
    if (invalid) {
      note.textContent = invalid.textContent.replace(/\s+/g, " ").trim();
      note.classList.add("invalid");
    } else {
      note.textContent = (live().getAttribute("data-changed") || "") + " " + changed.join(" · ");
    }
    if (box) { box.appendChild(note); } else if (after) { after.insertAdjacentElement("afterend", note); }
  }

  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#intake")) { lastField = event.target; }
  });
  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("#intake")) { lastField = event.target; }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var panel = live();
    if (!panel || !event.detail.target || event.detail.target.id !== "live") { return; }
    panel.setAttribute("aria-busy", "true");
    openKeys = [];
    var open = panel.querySelectorAll("details[open][data-key]");
    for (var i = 0; i < open.length; i++) { openKeys.push(open[i].getAttribute("data-key")); }
    if (lastSummary === null) { lastSummary = summaryOf(panel); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = event.detail.target;
    if (!panel || panel.id !== "live") { return; }
    panel.setAttribute("aria-busy", "false");
    for (var i = 0; i < openKeys.length; i++) {
      var again = panel.querySelector('details[data-key="' + openKeys[i] + '"]');
      if (again) { again.open = true; }
    }
    clearFieldMarks();
    markFields(panel);
    noteChanges(panel);
  });

  // htmx swaps nothing when the server answers with an error (4xx/5xx), cannot be reached, or
  // the form is invalid in the browser: the panel would go on showing the advice of what was
  // on the form before (possibly another client's, and its handout button would print it). On
  // any failure: empty the panel, so no old advice or handout button stays, and say why.
  function liveUpdateFailed(event) {
    var panel = live();
    var target = event.detail && (event.detail.target || event.detail.elt);
    if (!panel || !target || (target.id !== "live" && target.id !== "intake")) { return; }
    var message = document.createElement("p");
    message.className = "error live-summary stale";
    message.setAttribute("role", "alert");
    message.textContent = panel.getAttribute("data-error") ||
      "The advice could not be updated; the previous advice was removed.";
    panel.replaceChildren(message);
    panel.setAttribute("aria-busy", "false");
    lastSummary = {};
  }
  document.addEventListener("htmx:responseError", liveUpdateFailed);
  document.addEventListener("htmx:sendError", liveUpdateFailed);
  document.addEventListener("htmx:timeout", liveUpdateFailed);
  document.addEventListener("htmx:swapError", liveUpdateFailed);
  document.addEventListener("htmx:validation:halted", liveUpdateFailed);

  // -- The intake form's helpers --------------------------------------------------------------

  var SHORT_KEY = "mgadvisor.shortIntake";  // a display preference only, no client data

  function setOpen(section, open) {
    var button = section.querySelector("legend > button.section-toggle");
    if (!button) { return; }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    section.classList.toggle("collapsed", !open);
  }

  function hasInput(section) {
    var inputs = section.querySelectorAll("input, select");
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if (el.type === "checkbox") {
        if (el.checked) { return true; }
      } else if (el.tagName === "SELECT") {
        if (el.selectedIndex > 0 && el.options[0].value === "") { return true; }
      } else if (el.type !== "hidden" && el.value) {
        return true;
      }
    }
    return Boolean(section.querySelector(".error"));
  }

  function applyShortMode(on) {
    var button = byId("short-mode");
    if (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = button.getAttribute(on ? "data-on" : "data-off");
    }
    var sections = document.querySelectorAll("#intake fieldset.section[data-optional]");
    for (var i = 0; i < sections.length; i++) {
      setOpen(sections[i], !on || hasInput(sections[i]));  // never hide what was filled in
    }
    try { window.localStorage.setItem(SHORT_KEY, on ? "1" : ""); } catch (e) { /* private mode */ }
  }

  function initSections(form) {
    var sections = form.querySelectorAll("fieldset.section");
    for (var i = 0; i < sections.length; i++) {
      var legend = sections[i].querySelector("legend");
      if (!legend || legend.querySelector("button")) { continue; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "section-toggle";
      button.setAttribute("aria-expanded", "true");
      button.textContent = legend.textContent;
      legend.textContent = "";
      legend.appendChild(button);
      button.addEventListener("click", function (event) {
        var section = event.currentTarget.closest("fieldset");
        setOpen(section, section.classList.contains("collapsed"));
      });
    }
    var bar = document.querySelector(".intake-sections");
    if (bar) { bar.hidden = false; }
    var all = document.querySelectorAll("[data-sections]");
    for (var j = 0; j < all.length; j++) {
      all[j].addEventListener("click", function (event) {
        var open = event.currentTarget.getAttribute("data-sections") === "open";
        for (var k = 0; k < sections.length; k++) {
          setOpen(sections[k], open || hasInput(sections[k]));
        }
      });
    }
    var short = byId("short-mode");
    if (short) {
      short.addEventListener("click", function () {
        applyShortMode(short.getAttribute("aria-pressed") !== "true");
      });
      var stored = "";
      try { stored = window.localStorage.getItem(SHORT_KEY) || ""; } catch (e) { stored = ""; }
      if (stored) { applyShortMode(true); }
    }
  }

  // Pregnancy and breastfeeding only for a woman: hidden and not sent otherwise.
  function initFemaleOnly(form) {
    var sex = byId("f-person.sex");
    var box = form.querySelector("[data-only-female]");
    if (!sex || !box) { return; }
    function update() {
      var female = sex.value === "female";
      var filled = hasInput(box);
      box.hidden = !female && !(filled && box.querySelector(".error"));
      var inputs = box.querySelectorAll("input");
      for (var i = 0; i < inputs.length; i++) { inputs[i].disabled = box.hidden; }
    }
    sex.addEventListener("change", update);
    update();
  }

  // "Add a medicine": one more row (a copy of the last, emptied); a row is also added when the
  // last one gets a name, so there is always an empty row to type in.
  function initMedicines(form) {
    var rows = byId("med-rows");
    var add = byId("add-medicine");
    if (!rows || !add) { return; }
    var max = parseInt(add.getAttribute("data-max"), 10) || 20;
    function addRow(focus) {
      var all = rows.querySelectorAll(".med-row");
      var last = all[all.length - 1];
      var n = all.length;
      if (!last || n >= max) { return null; }
      var row = last.cloneNode(true);
      var from = last.getAttribute("data-row");
      row.setAttribute("data-row", String(n));
      var nodes = row.querySelectorAll("[id], [for], [name], [aria-describedby]");
      for (var i = 0; i < nodes.length; i++) {
        ["id", "for", "name", "aria-describedby"].forEach(function (attr) {
          var value = nodes[i].getAttribute(attr);
          if (value) { nodes[i].setAttribute(attr, value.split("med." + from + ".").join("med." + n + ".")); }
        });
      }
      var cleared = row.querySelectorAll("input");
      for (var j = 0; j < cleared.length; j++) { cleared[j].value = ""; cleared[j].removeAttribute("aria-invalid"); }
      var selects = row.querySelectorAll("select");
      for (var k = 0; k < selects.length; k++) { selects[k].selectedIndex = 0; }
      var extra = row.querySelectorAll(".error, .change-note");
      for (var m = 0; m < extra.length; m++) { extra[m].remove(); }
      var echoes = row.querySelectorAll(".echo");
      for (var e = 0; e < echoes.length; e++) { echoes[e].hidden = true; echoes[e].textContent = ""; }
      row.querySelector(".field").classList.remove("invalid");
      var label = row.querySelector("label");
      if (label) { label.textContent = add.getAttribute("data-label").replace("{n}", String(n + 1)); }
      rows.appendChild(row);
      if (focus) { row.querySelector("input").focus(); }
      add.hidden = rows.querySelectorAll(".med-row").length >= max;
      return row;
    }
    add.hidden = false;
    add.addEventListener("click", function () { addRow(true); });
    rows.addEventListener("input", function (event) {
      var all = rows.querySelectorAll(".med-row");
      var last = all[all.length - 1];
      if (last && last.contains(event.target) && /\.name$/.test(event.target.name) && event.target.value) {
        addRow(false);
      }
    });
  }

  // -- Tables wider than the screen --------------------------------------------------------------
  // A table scrolls within its .table-wrap on a phone: a wrapper that does can be focused and
  // scrolled with the arrow keys, and is named after its heading (a region); one that does not
  // scroll is no tab stop.
  function markScrollingTables(root) {
    var wraps = (root || document).querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        var heading = wrap.previousElementSibling;
        var caption = wrap.querySelector("caption");
        var name = (caption && caption.textContent) ||
          (heading && /^H[1-6]$/.test(heading.tagName) && heading.textContent) || "";
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        if (name.trim()) { wrap.setAttribute("aria-label", name.replace(/\s+/g, " ").trim()); }
      } else if (wrap.getAttribute("tabindex") === "0") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    }
  }
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () { markScrollingTables(document); }, 200);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    markScrollingTables(event.detail && event.detail.target);
  });

  document.addEventListener("DOMContentLoaded", function () {
    markScrollingTables(document);
    var form = byId("intake");
    if (!form) { return; }
    initSections(form);
    initFemaleOnly(form);
    initMedicines(form);
    var panel = live();
    if (panel) { lastSummary = summaryOf(panel); markFields(panel); }
  });
})();
