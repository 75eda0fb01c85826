// Firings per day of a backtest: what the rule would have done (wide bars) and, in front,
// what the engine really fired (narrow bars). Data from #backtest-data; days in UTC.
(function () {
  "use strict";
  var source = document.getElementById("backtest-data");
  if (!source || typeof uPlot === "undefined") return;
  var utc = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
  var made = {};
  // firings are counted, so the value axis has whole steps only (never 0.5 firings)
  var WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
  JSON.parse(source.textContent).forEach(function (chart, i) {
    var box = document.getElementById("backtest-" + i);
    if (!box) return;
    var bars = uPlot.paths.bars;
    made[chart.rule] = new uPlot({
      width: Math.max(280, box.clientWidth), height: 170, tzDate: utc, legend: { show: false },
      scales: {
        x: { time: true, range: function (u, lo, hi) { return [lo - 43200, hi + 43200]; } },
        y: { range: function (u, lo, hi) { return [0, Math.max(1, hi) * 1.15]; } }
      },
      axes: [{ stroke: "#6b7280", grid: { stroke: "#eef0f4" } },
        { stroke: "#6b7280", grid: { stroke: "#eef0f4" }, size: 40, incrs: WHOLE,
          label: "firings a day", labelSize: 18, labelFont: "12px system-ui, sans-serif" }],
      series: [{},
        { label: "would have fired", stroke: "#4f46e5", fill: "rgba(79,70,229,0.35)",
          paths: bars({ size: [0.8, 48] }), points: { show: false } },
        { label: "fired for real", stroke: "#059669", fill: "rgba(5,150,105,0.85)",
          paths: bars({ size: [0.35, 18] }), points: { show: false } }]
    }, [chart.days, chart.would, chart.live], box);
  });
  window.dashboardCharts = made;
})();
