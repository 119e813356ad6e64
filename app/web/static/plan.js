// The plan board: a changed capacity re-solves the plan at once (the form is a GET, so
// the scenario lands in the URL and can be shared). Without JavaScript, "Re-plan" does it.
(function () {
  "use strict";
  var form = document.getElementById("capacity-form");
  if (!form) return;
  form.addEventListener("change", function (ev) {
    if (ev.target && ev.target.name && ev.target.name.indexOf("cap.") === 0) form.requestSubmit();
  });
})();
