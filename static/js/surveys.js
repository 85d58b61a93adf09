// The NPS trend and score distribution charts of the surveys page, from its JSON data.
(function () {
  if (typeof Chart === "undefined") { return; }  // the tables carry the same figures
  var trend = JSON.parse(document.getElementById("nps-trend-data").textContent);
  var spread = JSON.parse(document.getElementById("nps-distribution-data").textContent);
  new Chart(document.getElementById("nps-trend-chart"), {
    type: "line",
    data: {
      labels: trend.labels,
      datasets: [
        {label: gettext("low"), data: trend.low, pointRadius: 0, borderWidth: 0, fill: false},
        // xgettext:no-javascript-format (a percent sign, not a placeholder)
        {label: gettext("95 % interval"), data: trend.high, pointRadius: 0, borderWidth: 0, fill: "-1",
         backgroundColor: "rgba(31, 95, 191, 0.18)"},
        {label: gettext("NPS"), data: trend.nps, borderColor: "#1f5fbf", backgroundColor: "#1f5fbf"}
      ]
    },
    options: {
      maintainAspectRatio: false, animation: false,
      scales: {y: {min: -100, max: 100}},
      plugins: {legend: {labels: {filter: function (item) { return item.text !== gettext("low"); }}}}
    }
  });
  new Chart(document.getElementById("nps-distribution-chart"), {
    type: "bar",
    data: {
      labels: spread.labels,
      datasets: [{
        label: gettext("Answers"), data: spread.counts,
        backgroundColor: spread.labels.map(function (s) {
          return s >= 9 ? "#1f7a3f" : (s >= 7 ? "#a08000" : "#b3261e");
        })
      }]
    },
    options: {maintainAspectRatio: false, animation: false, plugins: {legend: {display: false}},
              scales: {y: {beginAtZero: true, ticks: {precision: 0}}}}
  });
})();
