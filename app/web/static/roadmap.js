// The roadmap's controls, live: a change to a filter, the method, the grouping or the
// what-if scenario fetches the same page for the new URL and swaps in its results, so the
// rows are exactly the server's (bars, flags, explanations, ranks, pages). The URL always
// holds the whole state (reload and share it); nothing is stored. Without script the form
// submits as a plain GET and gives the same page.
(function () {
  "use strict";
  var form = document.getElementById("controls");
  var status = document.getElementById("whatif-status");
  if (!form) { return; }
  var timer = null;
  var latest = 0;

  function query() {
    var data = new FormData(form);
    var out = new URLSearchParams();
    var rows = {new_key: data.getAll("new_key"), new_title: data.getAll("new_title"),
                new_effort: data.getAll("new_effort"), new_impact: data.getAll("new_impact")};
    data.forEach(function (value, name) {
      if (name.indexOf("new_") === 0 || value === "") { return; }
      var el = form.elements.namedItem(name);
      if (el && el.dataset && el.dataset.default !== undefined &&
          (el.dataset.default === value || (el.type === "range" && parseFloat(el.dataset.default) === parseFloat(value)))) {
        return;                                                            // unchanged weight or method
      }
      out.append(name, value);
    });
    rows.new_key.forEach(function (key, n) {
      if (!key.trim()) { return; }
      ["new_key", "new_title", "new_effort", "new_impact"].forEach(function (f) { out.append(f, rows[f][n] || ""); });
    });
    return out.toString();
  }

  function refresh() {
    var qs = query();
    var url = form.getAttribute("action") + (qs ? "?" + qs : "");
    var ticket = ++latest;
    status.textContent = "Re-ranking…";
    fetch(url, {headers: {"Accept": "text/html"}, credentials: "same-origin"})
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (ticket !== latest) { return; }                                 // a newer change is on its way
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("results");
        var old = document.getElementById("results");
        if (!fresh || !old) { status.textContent = "The server sent no ranking."; return; }
        old.replaceWith(document.importNode(fresh, true));
        window.history.replaceState(null, "", url);
        var scenario = /(^|&)(w\.|kpi\.|new_key)/.test(qs);
        var held = doc.getElementById("whatif-confirm") !== null;          // a KPI value 10x off waits
        status.textContent = held ? "A KPI value is more than 10x off its current value: confirm it below."
                           : scenario ? "Re-ranked under the scenario above (not saved; the link keeps it)."
                                      : "Re-ranked: the stored ranking, no scenario.";
      })
      .catch(function () { if (ticket === latest) { status.textContent = "The server did not answer."; } });
  }

  function later(ms) { clearTimeout(timer); timer = setTimeout(refresh, ms); }

  form.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t.type === "range" && t.nextElementSibling) { t.nextElementSibling.textContent = t.value; }
    if (t.type === "search" || t.name === "q") { later(400); return; }
    if (t.closest("#whatif")) { later(t.type === "range" ? 200 : 600); }
  });
  form.addEventListener("change", function (ev) {
    if (ev.target.tagName === "SELECT" || ev.target.type === "checkbox") { later(0); }
  });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); later(0); });
})();
