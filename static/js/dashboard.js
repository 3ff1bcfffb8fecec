// Dashboard charts. Data comes from the page's json_script element (no inline scripts:
// the Content-Security-Policy allows only scripts served from our own origin).
(function () {
  "use strict";
  const charts = [];

  function draw() {
    const source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    while (charts.length) charts.pop().destroy();
    const accent = "#1f5fbf";
    // A fresh options object per chart: Chart.js writes resolved settings back into it.
    function options(extra) {
      return Object.assign({
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { ticks: { precision: 0 } }, y: { ticks: { precision: 0 } } },
      }, extra || {});
    }
    const pipeline = document.getElementById("chart-pipeline");
    if (pipeline) {
      charts.push(new Chart(pipeline, {
        type: "bar",
        data: { labels: data.pipeline.labels, datasets: [{ label: "Leads", data: data.pipeline.counts, backgroundColor: accent }] },
        options: options(),
      }));
    }
    const funnel = document.getElementById("chart-funnel");
    if (funnel) {
      charts.push(new Chart(funnel, {
        type: "bar",
        data: { labels: data.funnel.labels, datasets: [{ label: "Leads", data: data.funnel.counts, backgroundColor: "#5b8fd9" }] },
        options: options({ indexAxis: "y" }),
      }));
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
