// What-if panel: a slider per objective weight re-ranks the list live through
// POST /api/v1/what-if, without reloading; nothing is stored.
(function () {
  "use strict";
  var panel = document.getElementById("whatif");
  var table = document.getElementById("ranking");
  if (!panel || !table) { return; }
  var sliders = panel.querySelectorAll("input[type=range]");
  var status = document.getElementById("whatif-status");
  var initial = {};
  var timer = null;

  function weights() {
    var out = {};
    sliders.forEach(function (s) { out[s.dataset.objective] = parseFloat(s.value); });
    return out;
  }

  function cell(text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = text;
    return td;
  }

  function render(data) {
    var body = table.tBodies[0];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    data.items.forEach(function (it) {
      var tr = document.createElement("tr");
      tr.dataset.key = it.key;
      tr.appendChild(cell(String(it.rank), "n rank"));
      var keyTd = document.createElement("td");
      var a = document.createElement("a");
      a.href = "/initiatives/" + encodeURIComponent(it.key);
      a.textContent = it.key;
      keyTd.appendChild(a);
      tr.appendChild(keyTd);
      tr.appendChild(cell(it.title));
      tr.appendChild(cell(it.score.toFixed(3), "n score"));
      tr.appendChild(cell(it.impact.toFixed(3), "n"));
      tr.appendChild(cell(it.effort === null ? "-" : it.effort.toFixed(1), "n"));
      tr.appendChild(cell(it.flags.join(" ")));
      var moved = it.moved;
      var label = moved === null ? "new" : moved > 0 ? "▲ " + moved : moved < 0 ? "▼ " + (-moved) : "–";
      tr.appendChild(cell(label, "moved " + (moved > 0 ? "up" : moved < 0 ? "down" : "")));
      body.appendChild(tr);
    });
  }

  function rerank() {
    var params = new URLSearchParams(window.location.search);
    params.set("limit", "50");
    params.delete("page");
    status.textContent = "Re-ranking…";
    fetch("/api/v1/what-if?" + params.toString(), {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({objective_weights: weights()})
    }).then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
      .then(function (res) {
        if (!res[0]) { status.textContent = res[1].error.message; return; }
        render(res[1]);
        status.textContent = "Re-ranked under the weights above (not saved).";
      })
      .catch(function () { status.textContent = "The server did not answer."; });
  }

  sliders.forEach(function (s) {
    initial[s.dataset.objective] = s.value;
    s.addEventListener("input", function () {
      s.nextElementSibling.textContent = s.value;
      clearTimeout(timer);
      timer = setTimeout(rerank, 150);
    });
  });
  document.getElementById("whatif-reset").addEventListener("click", function () {
    sliders.forEach(function (s) { s.value = initial[s.dataset.objective]; s.nextElementSibling.textContent = s.value; });
    rerank();
  });
})();
