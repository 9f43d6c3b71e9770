// The dashboard's live updates: no framework, no build step, no network beyond this relay.
// Every POLL_MS it fetches /live (every panel's HTML, rendered by the server) and swaps it in;
// countdowns tick every 200 ms from the due times in the page and the server's clock. Forms
// marked data-action are sent with fetch (same fields, CSRF token included) instead of a reload.
// What a person is doing survives a swap: a panel whose text field has the focus is left alone
// until it loses it, and fields and <details> marked data-keep keep their value and open state.
(function () {
  "use strict";
  var POLL_MS = 1500;
  var root = document.getElementById("live");
  if (!root) return;
  var offset = Number(root.dataset.now) - Date.now(); // server clock minus this browser's clock
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";

  function show(id, text) {
    var el = document.getElementById(id);
    el.textContent = text || "";
    el.hidden = !text;
  }

  function tick() {
    var now = Date.now() + offset;
    root.querySelectorAll("[data-due]").forEach(function (el) {
      var left = (Number(el.dataset.due) - now) / 1000;
      el.textContent = left > 0 ? left.toFixed(1) + " s" : "now";
    });
  }

  function editing(panel) {
    var active = document.activeElement;
    return active && panel.contains(active) && active.matches("input[type=text], textarea, select");
  }

  function swap(panel, html) {
    var values = {}, open = {};
    panel.querySelectorAll("input[data-keep]").forEach(function (el) { values[el.dataset.keep] = el.value; });
    panel.querySelectorAll("details[data-keep][open]").forEach(function (el) { open[el.dataset.keep] = true; });
    panel.innerHTML = html;
    panel.querySelectorAll("input[data-keep]").forEach(function (el) {
      if (values[el.dataset.keep]) el.value = values[el.dataset.keep];
    });
    panel.querySelectorAll("details[data-keep]").forEach(function (el) {
      if (open[el.dataset.keep]) el.open = true;
    });
  }

  function refresh() {
    var started = Date.now();
    return fetch(root.dataset.live, {
      headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store"
    }).then(function (response) {
      if (response.status === 401) { window.location.assign("/login?next=%2F"); return; }
      if (!response.ok) { show("connection", "The relay answered " + response.status + "; retrying…"); return; }
      return response.json().then(function (doc) {
        offset = doc.now - (started + Date.now()) / 2;
        Object.keys(doc.panels).forEach(function (name) {
          var panel = root.querySelector('[data-panel="' + name + '"]');
          if (panel && !editing(panel)) swap(panel, doc.panels[name]);
        });
        show("connection", "");
        tick();
      });
    }).catch(function () { show("connection", "Cannot reach the relay; retrying…"); });
  }

  function poll() {
    var next = function () { window.setTimeout(poll, POLL_MS); };
    if (document.hidden) { next(); return; }
    refresh().then(next, next);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-action]")) return;
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    if (form.contains(document.activeElement)) document.activeElement.blur(); // let it refresh
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (doc) {
        document.getElementById("notice").className = "flash " + (response.ok ? "good" : "bad");
        show("notice", doc.message || doc.error || "Done (" + response.status + ").");
        if (response.ok) form.querySelectorAll("input[data-keep]").forEach(function (el) { el.value = ""; });
      });
    }).catch(function () {
      show("notice", "Cannot reach the relay.");
    }).then(function () {
      if (button) button.disabled = false;
      return refresh();
    });
  });

  window.setInterval(tick, 200);
  tick();
  window.setTimeout(poll, POLL_MS);
})();
