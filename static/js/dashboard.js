// Draw the NPS trend with its 95% band from the accessible table the page already has.
(function () {
  function draw() {
    var canvas = document.getElementById("nps-trend");
    var rows = document.querySelectorAll("#nps-trend-table tbody tr");
    if (!canvas || !rows.length || typeof Chart === "undefined") return;
    if (canvas._chart) canvas._chart.destroy();
    var labels = [], nps = [], low = [], high = [];
    rows.forEach(function (row) {
      labels.push(row.dataset.month);
      nps.push(parseFloat(row.dataset.nps));
      low.push(parseFloat(row.dataset.low));
      high.push(parseFloat(row.dataset.high));
    });
    canvas._chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          // xgettext:no-javascript-format (a percent sign, not a placeholder)
          { label: gettext("95% low"), data: low, borderWidth: 0, pointRadius: 0, fill: false },
          // xgettext:no-javascript-format
          { label: gettext("95% band"), data: high, borderWidth: 0, pointRadius: 0, fill: "-1",
            backgroundColor: "rgba(31, 95, 191, 0.15)" },
          { label: gettext("NPS"), data: nps, borderColor: "#1f5fbf", backgroundColor: "#1f5fbf" }
        ]
      },
      options: {
        animation: false,
        scales: { y: { min: -100, max: 100 } },
        plugins: { legend: { labels: { filter: function (item) { return item.text === gettext("NPS"); } } } }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
