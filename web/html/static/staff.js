// Progressive enhancement for the staff pages; every page works without it.
// - campaign editor: placeholder buttons insert at the cursor; live R1/R2 check while typing
// - campaign overview: progress refreshes itself while the campaign is sending
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function enhanceEditor(form) {
    var target = document.getElementById("sms_body");
    var label = document.querySelector("[data-target-label]");
    var hint = document.getElementById("insert-target");
    if (hint) hint.hidden = false;
    form.querySelectorAll("[data-placeholder-target]").forEach(function (field) {
      field.addEventListener("focus", function () {
        target = field;
        var own = document.querySelector('label[for="' + field.id + '"]');
        if (label && own) label.textContent = own.textContent;
      });
    });
    document.querySelectorAll("[data-insert]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-insert");
        var start = target.selectionStart || 0;
        var end = target.selectionEnd || 0;
        target.value = target.value.slice(0, start) + text + target.value.slice(end);
        target.focus();
        target.selectionStart = target.selectionEnd = start + text.length;
        target.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
    var region = document.getElementById("check");
    var sent = 0;
    var check = debounce(function () {
      var mine = ++sent;
      fetch(form.getAttribute("data-check-url"), {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && mine === sent) {
            region.innerHTML = data.html;
            region.setAttribute("data-valid", data.valid ? "yes" : "no");
          }
        })
        .catch(function () { /* the plain "Check" button still works */ });
    }, 400);
    form.addEventListener("input", check);
  }

  function followProgress(box) {
    var url = box.getAttribute("data-status-url");
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          box.innerHTML = data.html;
          box.setAttribute("data-status", data.status);
          if (data.status === "queued" || data.status === "sending") setTimeout(poll, 1500);
          else box.setAttribute("data-live", "no");
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("campaign-form");
    if (form) enhanceEditor(form);
    var box = document.getElementById("report");
    if (box && box.getAttribute("data-live") === "yes") followProgress(box);
  });
})();
