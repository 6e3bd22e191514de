/* Progressive enhancements of the portal; every page works without them. */
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/service-worker.js", { scope: "/" });
    });
  }

  // A table wider than a phone scrolls sideways (portal.css); keyboard users
  // can only scroll it if it takes the focus, so it does while it overflows.
  function reachableScrolls() {
    document.querySelectorAll("main table").forEach(function (table) {
      var overflows = table.scrollWidth > table.clientWidth + 1;
      if (overflows && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.dataset.scrollFocus = "1";
      } else if (!overflows && table.dataset.scrollFocus) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollFocus;
      }
    });
  }
  reachableScrolls();
  window.addEventListener("resize", reachableScrolls);
})();
