/* The portal pages' only script, served from the portal's own origin (the Flask and
   Django integrations serve this same file): no page has an inline script, an inline
   event handler or an inline style, so a Content-Security-Policy of
   "script-src 'self'; style-src 'self'" lets every page work (docs/security.md).

   A button marked data-portal-print prints the page. It is hidden until this script
   shows it: without scripts the page says to use the browser's own Print command. */
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-portal-print]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
    button.hidden = false;
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-portal-print-hint]"), function (hint) {
    hint.hidden = true;
  });
})();
