// The plan board: the page paints the greedy plan at once; this script then fetches the
// exact plan and "enters if" (GET /plan/live, JSON with the board's HTML) and swaps them
// in. A changed capacity or pin re-plans: the form is a GET, so the scenario lands in the
// URL and can be shared (empty pins are left out unless they unpin a tracker's pin).
// Without JavaScript, "Re-plan" and "Show the exact plan" do the same.
(function () {
  "use strict";
  var form = document.getElementById("capacity-form");
  var body = document.getElementById("plan-body");
  if (!form || !body) return;

  function replan() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (name.indexOf("pin.") === 0 && !value) {
        var sel = form.querySelector("select[name='" + CSS.escape(name) + "']");
        if (!sel || !sel.dataset.pinned) return;      // nothing to unpin: keep the URL short
      }
      if (name.indexOf("cap.") === 0 && !String(value).trim()) return;
      params.append(name, value);
    });
    window.location.assign(form.action + (params.toString() ? "?" + params.toString() : ""));
  }

  form.addEventListener("change", function (ev) {
    var name = ev.target && ev.target.name;
    if (name && (name.indexOf("cap.") === 0 || name.indexOf("pin.") === 0)) replan();
  });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); replan(); });

  function follow(url) {
    if (!url) return;
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (data.busy) {       // the server's analysis slots are taken: ask again shortly
          window.setTimeout(function () { follow(data.next); }, 1000 * (data.retry_after || 2));
          return;
        }
        body.innerHTML = data.html;
        body.dataset.stage = data.stage;
        follow(data.next);
      })
      .catch(function () { /* the greedy plan stays on the page */ });
  }
  follow(body.dataset.next);
})();
