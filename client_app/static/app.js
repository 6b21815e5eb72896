/* Small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });
  /* After htmx swaps in a new list, move focus to its heading so screen readers
     and keyboard users know the content changed. */
  document.addEventListener("htmx:afterSwap", function (event) {
    var heading = event.target.querySelector("[data-focus-after-swap]");
    if (heading) {
      heading.focus();
    }
  });
})();
