// rocket-dag live updates (the pages work without this file).
// - An element with data-live="URL" is re-fetched every second while it says
//   data-active="true" (every 5 s otherwise) and its content swapped in place.
// - A <pre data-tail="URL"> follows an attempt's log over server-sent events.
(function () {
  "use strict";

  function swap(el, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var fresh = tpl.content.firstElementChild;
    // Only a live fragment replaces one (a login page after a restart would blank the view).
    if (!fresh || !fresh.hasAttribute("data-live")) { return; }
    if (fresh.innerHTML !== el.innerHTML) { el.innerHTML = fresh.innerHTML; }
    el.setAttribute("data-active", fresh.getAttribute("data-active") || "false");
  }

  function poll(el) {
    var active = el.getAttribute("data-active") === "true";
    window.setTimeout(function () {
      fetch(el.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
        .then(function (html) { swap(el, html); })
        .catch(function () { el.setAttribute("data-active", "false"); })
        .then(function () { poll(el); });
    }, active ? 1000 : 5000);
  }

  function tail(pre) {
    if (!window.EventSource) { return; }
    var status = document.getElementById(pre.getAttribute("data-status") || "");
    var source = new EventSource(pre.getAttribute("data-tail"));
    source.onmessage = function (e) {
      var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(document.createTextNode(e.data));
      if (atBottom) { pre.scrollTop = pre.scrollHeight; }
      if (status) { status.textContent = "following the log…"; }
    };
    source.addEventListener("end", function () {
      source.close();
      if (status) { status.textContent = "the attempt has finished"; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(poll);
    document.querySelectorAll("pre[data-tail]").forEach(tail);
  });
})();
