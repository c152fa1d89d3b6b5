// Draws the charts of a report page from the data embedded in it (#data), with uPlot:
// drag to zoom, double-click to reset, hover for values.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);

  function width(el) {
    return Math.max(320, el.clientWidth || 900);
  }

  function line(label, stroke) {
    return { label: label, stroke: stroke, width: 1.5, spanGaps: true, points: { show: false } };
  }

  function marks(label, fill) {
    return {
      label: label,
      stroke: fill,
      fill: fill,
      paths: function () { return null; },
      points: { show: true, size: 7, fill: fill, stroke: fill },
    };
  }

  // One chart in `id`: x values and their series, or nothing when there is no data.
  function chart(id, title, data, series, opts) {
    var el = document.getElementById(id);
    if (!el) return;
    if (!data[0] || data[0].length === 0) {
      el.textContent = title + ": no data";
      return;
    }
    opts = opts || {};
    var o = {
      title: title,
      width: width(el),
      height: 300,
      scales: { x: { time: opts.time !== false } },
      axes: [{ label: opts.xLabel || "" }, { label: opts.yLabel || "", size: 70 }],
      series: [{ label: opts.xName || "time (UTC)" }].concat(series),
      cursor: { drag: { x: true, y: false } },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
    };
    el.chart = new uPlot(o, data, el);
    el.dataset.drawn = "1";
  }

  // Fills at one instant share a time: each later one is moved a microsecond on, so that every
  // fill keeps its own point when the series are joined on one time axis.
  function apart(t) {
    var out = t.slice();
    for (var i = 1; i < out.length; i++) {
      if (out[i] <= out[i - 1]) out[i] = out[i - 1] + 1e-6;
    }
    return out;
  }

  var q = D.quote, b = D.base;
  if (D.rows) {
    var r = D.rows;
    var price = uPlot.join([
      [r.t, r.bid, r.ask, r.mid],
      [apart(D.buys.t), D.buys.price],
      [apart(D.sells.t), D.sells.price],
    ]);
    chart("chart-price", D.market + " price and our fills", price, [
      line("best bid", "#78b478"),
      line("best ask", "#dc8282"),
      line("mid", "#285ac8"),
      marks("our buys", "#008c3c"),
      marks("our sells", "#c81e1e"),
    ], { yLabel: "price (" + q + ")" });
    chart("chart-pnl", "Profit and loss (equity change at mid)", [r.t, r.pnl],
      [line("PnL", "#285ac8")], { yLabel: "PnL (" + q + ")" });
    chart("chart-inventory", "Inventory", [r.t, r.base],
      [line("base held", "#9650b4")], { yLabel: "holding (" + b + ")" });
    chart("chart-drawdown", "Drawdown from the running peak", [r.t, r.drawdown],
      [line("drawdown", "#c83c28")], { yLabel: "drawdown (" + q + ")" });
  }
  if (D.sources && D.sources.t.length) {
    var s = D.sources;
    chart("chart-sources", "Where the PnL came from, over time",
      [s.t, s.hold, s.spread, s.fees, s.inventory, s.total], [
        line("hold", "#9a9a9a"),
        line("spread", "#008c3c"),
        line("− fees", "#c81e1e"),
        line("inventory", "#9650b4"),
        line("total", "#285ac8"),
      ], { yLabel: "PnL (" + q + ")" });
  }
  if (D.markouts && D.markouts.h.length) {
    var m = D.markouts;
    chart("chart-markouts", "Markouts: how the mid moved after our fills",
      [m.h, m.buy, m.sell, m.all], [
        line("buys", "#008c3c"),
        line("sells", "#c81e1e"),
        line("all fills", "#285ac8"),
      ], { time: false, xName: "horizon (s)", xLabel: "seconds after the fill", yLabel: "bps" });
  }

  // Sortable tables: click a header to sort by it (numbers as numbers), again to reverse.
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
    var heads = t.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var body = t.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var desc = th.dataset.order !== "desc";
        Array.prototype.forEach.call(heads, function (h) { delete h.dataset.order; });
        th.dataset.order = desc ? "desc" : "asc";
        rows.sort(function (a, b) {
          var x = a.cells[col].textContent, y = b.cells[col].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return desc ? -c : c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
