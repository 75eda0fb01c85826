// A post's charts: each metric's total (line) and what each hour added (bars), the
// threshold of every rule watching it (dashed line) and a marker at every firing.
// The data is carried by the page (#chart-data); times are epoch seconds, shown in UTC.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof uPlot === "undefined") return;
  var charts = JSON.parse(source.textContent);
  var made = {};
  var utc = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
  var colours = { fired: "#dc2626", seeded: "#6b7280" };

  var compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
  function axis(u, vals) { return vals.map(function (v) { return compact.format(v); }); }

  function fmt(v) {
    if (v == null) return "–";
    return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en") : String(+v.toFixed(3));
  }

  function yRange(chart) {
    return function (u, lo, hi) {
      var top = hi;
      chart.thresholds.forEach(function (t) { top = Math.max(top, t.value); });
      lo = Math.min(lo, 0);
      top = top <= lo ? lo + 1 : top * 1.08;
      return [lo, top];
    };
  }

  // A post read once so far: uPlot spans a single time with a thousand days (its one-day
  // padding counted in milliseconds), and the firings before the reading fell off the
  // chart. Span the reading and the firings instead, with at least an hour.
  function xRange(chart) {
    return function (u, lo, hi) {
      var times = u.data[0];
      if (!times || times.length != 1) return [lo, hi];
      lo = hi = times[0];
      chart.markers.forEach(function (mk) { lo = Math.min(lo, mk.at); hi = Math.max(hi, mk.at); });
      var pad = Math.max(0, 3600 - (hi - lo)) / 2 + 0.05 * (hi - lo);
      return [lo - pad, hi + pad];
    };
  }

  function overlay(u, chart) {
    var layer = u.over.querySelector(".overlay");
    if (!layer) {
      layer = document.createElement("div");
      layer.className = "overlay";
      u.over.appendChild(layer);
    }
    layer.textContent = "";
    var tags = [];  // labels shown: one within a label's height of another joins it as "+N more"
    chart.thresholds.forEach(function (t) {
      var y = u.valToPos(t.value, "y");
      var line = document.createElement("div");
      line.className = "threshold";
      line.style.top = y + "px";
      line.dataset.rule = t.rule;
      line.dataset.value = t.value;
      line.title = t.label;
      var near = tags.find(function (shown) { return Math.abs(shown.y - y) < 16; });
      if (near) {
        near.more += 1;
        near.tag.textContent = near.label + " · +" + near.more + " more";
      } else {
        var tag = document.createElement("span");
        tag.textContent = t.label;
        line.appendChild(tag);
        tags.push({ y: y, tag: tag, label: t.label, more: 0 });
      }
      layer.appendChild(line);
    });
    chart.markers.forEach(function (mk) {
      var x = u.valToPos(mk.at, "x");
      if (x < 0 || x > u.over.clientWidth) return;
      var marker = document.createElement("div");
      marker.className = "marker " + mk.kind;
      marker.style.left = x + "px";
      marker.dataset.at = mk.at;
      marker.dataset.rule = mk.rule;
      marker.dataset.kind = mk.kind;
      marker.title = mk.label + " at " + utc(mk.at).toISOString().slice(0, 16).replace("T", " ") +
        " UTC" + (mk.value != null ? " (" + fmt(mk.value) + ")" : "");
      if (mk.value != null) {
        var dot = document.createElement("i");
        dot.style.top = u.valToPos(mk.value, "y") + "px";
        marker.appendChild(dot);
      }
      layer.appendChild(marker);
    });
  }

  function draw(chart) {
    var box = document.getElementById("chart-" + chart.metric);
    if (!box) return;
    var width = Math.max(280, box.clientWidth);
    var series = [{}, {
      label: chart.label, stroke: "#4f46e5", width: 2, fill: "rgba(79,70,229,0.08)",
      spanGaps: false, value: function (u, v) { return fmt(v); }
    }];
    var data = [chart.times, chart.totals];
    var axes = [{ stroke: "#6b7280", grid: { stroke: "#eef0f4" } },
      { stroke: "#6b7280", grid: { stroke: "#eef0f4" }, size: 50, values: axis }];
    if (chart.per_hour) {
      series.push({
        label: "per hour", scale: "hourly", stroke: "#f59e0b", fill: "rgba(245,158,11,0.35)",
        paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false },
        value: function (u, v) { return fmt(v); }
      });
      data.push(chart.per_hour);
      axes.push({ scale: "hourly", side: 1, stroke: "#b45309", grid: { show: false }, size: 44,
        values: axis });
    }
    var opts = {
      width: width, height: window.innerWidth < 600 ? 180 : 220, tzDate: utc,
      series: series, axes: axes, legend: { show: false },
      scales: { x: { time: true, range: xRange(chart) }, y: { range: yRange(chart) } },
      cursor: { drag: { x: true, y: false } },
      hooks: { draw: [function (u) { overlay(u, chart); }] }
    };
    made[chart.metric] = new uPlot(opts, data, box);
  }

  charts.forEach(draw);
  window.dashboardCharts = made;
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts.forEach(function (chart) {
        var u = made[chart.metric];
        var box = document.getElementById("chart-" + chart.metric);
        if (u && box) u.setSize({ width: Math.max(280, box.clientWidth), height: u.height });
      });
    }, 150);
  });
})();
