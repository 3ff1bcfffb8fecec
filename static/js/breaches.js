// Breach report charts. Data comes from the page's json_script element (no inline scripts:
// the Content-Security-Policy allows only scripts served from our own origin).
(function () {
  "use strict";

  function draw() {
    const source = document.getElementById("breach-chart-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const week = document.getElementById("chart-compliance-week");
    if (week) {
      new Chart(week, {
        type: "bar",
        data: {
          labels: data.week.labels,
          datasets: [
            { label: "Met", data: data.week.met, backgroundColor: "#1b7f3b", maxBarThickness: 48 },
            { label: "Missed", data: data.week.breached, backgroundColor: "#b3261e", maxBarThickness: 48 },
          ],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { position: "bottom" } },
          scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } },
        },
      });
    }
    const policy = document.getElementById("chart-compliance-policy");
    if (policy) {
      new Chart(policy, {
        type: "bar",
        data: {
          labels: data.policy.labels,
          datasets: [
            { label: "Met", data: data.policy.met, backgroundColor: "#1b7f3b", maxBarThickness: 36 },
            { label: "Missed", data: data.policy.breached, backgroundColor: "#b3261e", maxBarThickness: 36 },
          ],
        },
        options: {
          indexAxis: "y",
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { position: "bottom" } },
          scales: {
            x: { stacked: true, ticks: { precision: 0 } },
            y: {
              stacked: true,
              ticks: {
                // Long policy names are cut on the axis; the table below has them in full.
                callback: function (value) {
                  const label = this.getLabelForValue(value);
                  return label.length > 32 ? label.slice(0, 31) + "…" : label;
                },
              },
            },
          },
        },
      });
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
