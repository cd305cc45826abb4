// wirewatch desk: the only script besides htmx. Shows <time> elements in the viewer's
// time zone. No inline scripts anywhere (the Content-Security-Policy forbids them).
"use strict";
(function () {
  function localise(root) {
    root.querySelectorAll("time[datetime]").forEach(function (node) {
      var moment = new Date(node.getAttribute("datetime"));
      if (!isNaN(moment)) {
        node.title = node.textContent;
        node.textContent = moment.toLocaleString(undefined, {
          year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
          timeZoneName: "short"
        });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSwap", function (event) { localise(event.target); });
})();
