// The customer list on a phone: its filters fold into the one "Filters" panel, so the
// customers come first (the panel opens on a tap).
(function () {
  var panel = document.querySelector(".filters-panel");
  if (panel && window.matchMedia("(max-width: 640px)").matches) {
    panel.open = false;
  }
})();
