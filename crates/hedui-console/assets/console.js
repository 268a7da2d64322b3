// 核对工作台 — the only script: add and remove form rows, refuse a second
// submit, and poll a running batch's progress. No framework; the pages work
// without it (fixed rows, manual reload).
(function () {
  "use strict";
  function renumber(table) {
    var rows = table.querySelectorAll("tbody tr.member");
    rows.forEach(function (tr, i) {
      var pos = tr.querySelector("td.pos");
      if (pos) { pos.textContent = String(i + 1); }
    });
  }
  function cloneRow(tableId, cls) {
    var table = document.getElementById(tableId);
    if (!table) { return; }
    var rows = table.querySelectorAll("tbody tr." + cls);
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input").forEach(function (i) { i.value = ""; i.removeAttribute("aria-invalid"); });
    copy.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
    table.querySelector("tbody").appendChild(copy);
    renumber(table);
    var first = copy.querySelector("input");
    if (first) { first.focus(); }
  }
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t.id === "add-member") { cloneRow("members", "member"); }
    if (t.id === "add-guardian") { cloneRow("guardians", "guardian"); }
    if (t.classList && t.classList.contains("remove-row")) {
      var tr = t.closest("tr");
      var table = t.closest("table");
      if (table.querySelectorAll("tbody tr." + tr.className).length > 1) {
        var next = tr.nextElementSibling;
        if (next && next.classList.contains("row-errors")) { next.remove(); }
        tr.remove();
        renumber(table);
      }
    }
  });
  // A second click on submit does nothing: the idempotency key in the form
  // makes a resend harmless anyway.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset.sent === "1") { e.preventDefault(); return; }
    f.dataset.sent = "1";
    f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; b.textContent = "正在提交…"; });
  });
  var p = document.getElementById("progress");
  if (p && p.dataset.running === "1") {
    var id = p.dataset.batch;
    var timer = setInterval(function () {
      fetch("/batches/" + encodeURIComponent(id) + "/progress", { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          ["state", "done", "total", "percent", "rate", "left"].forEach(function (k) {
            var el = document.getElementById("p-" + k);
            if (el) { el.textContent = String(s[k]); }
          });
          var bar = p.querySelector(".bar");
          if (bar) { bar.style.width = s.percent + "%"; }
          var pb = p.querySelector(".progress");
          if (pb) { pb.setAttribute("aria-valuenow", String(s.percent)); }
          if (!s.running) { clearInterval(timer); window.location.reload(); }
        })
        .catch(function () { /* the hub may be restarting; try again */ });
    }, 2000);
  }
})();
