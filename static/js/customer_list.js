// The customer list on a phone: its filters fold into the one "Filters" panel, so the
// customers come first (the panel opens on a tap).
(function () {
  var panel = document.querySelector(".filters-panel");
  if (panel && window.matchMedia("(max-width: 640px)").matches) {
    panel.open = false;
  }
})();

// Ticking rows: one, a range with shift (from the last one ticked), or the whole page; the bar
// says how many.
(function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=ids][form=bulk]"));
  var page = document.getElementById("pick-page");
  var count = document.querySelector(".bulk-count");
  var last = null;
  function tell() {
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    if (count) {
      count.textContent = ticked ? ticked + " " + count.dataset.some : count.dataset.none;
    }
    if (page) {
      page.checked = ticked > 0 && ticked === boxes.length;
      page.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }
  boxes.forEach(function (box, index) {
    box.addEventListener("click", function (event) {
      if (event.shiftKey && last !== null) {
        var low = Math.min(last, index), high = Math.max(last, index);
        for (var n = low; n <= high; n++) { boxes[n].checked = box.checked; }
      }
      last = index;
      tell();
    });
  });
  if (page) {
    page.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = page.checked; });
      tell();
    });
  }
  tell();
})();
