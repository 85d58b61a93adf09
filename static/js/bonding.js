// Tell the server the browser's time zone, so times show in the viewer's own.
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* an old browser keeps the organization's time zone */ }
})();

// The Content-Security-Policy refuses style attributes, so values a template computes (a tier's
// colour, a bar's width) come as data-var-NAME attributes and become the CSS custom property
// --NAME here, on the page and on every fragment htmx swaps in.
(function () {
  function applyVars(root) {
    var elements = root.querySelectorAll ? root.querySelectorAll("*") : [];
    var all = root.attributes ? [root].concat(Array.prototype.slice.call(elements)) : elements;
    Array.prototype.forEach.call(all, function (element) {
      Array.prototype.forEach.call(element.attributes, function (attribute) {
        if (attribute.name.indexOf("data-var-") === 0) {
          element.style.setProperty("--" + attribute.name.slice(9), attribute.value);
        }
      });
    });
  }
  applyVars(document);
  document.addEventListener("htmx:load", function (event) { applyVars(event.target); });

  // Buttons that print the page (letters), without an inline onclick.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });
})();
