// The live dashboard: reads the session's state from /dashboard/state (server-sent events,
// the newest state only) and redraws the header, the ladders, the trades and each account.
(function () {
  "use strict";
  var charts = {};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function table(id, head, rows, rowClass) {
    var t = el("table", { id: id });
    var h = el("tr");
    head.forEach(function (c) { h.appendChild(el("th", {}, c)); });
    t.appendChild(el("thead")).appendChild(h);
    var b = t.appendChild(el("tbody"));
    rows.forEach(function (r, i) {
      var tr = el("tr", rowClass ? { "class": rowClass(i) || "" } : {});
      r.forEach(function (c) { tr.appendChild(el("td", {}, c)); });
      b.appendChild(tr);
    });
    return t;
  }

  // Our open orders by market and price: "key amount (queue ahead)" at each level.
  function ours(state, market) {
    var at = {};
    state.accounts.forEach(function (a) {
      a.open.forEach(function (o) {
        if (o.market !== market || o.price === null) return;
        var side = o.side === "buy" ? "bid" : "ask";
        var k = side + " " + o.price;
        var text = a.key + " " + o.remaining + (o.queue !== null ? " (queue " + o.queue + ")" : "");
        at[k] = at[k] ? at[k] + "; " + text : text;
      });
    });
    return at;
  }

  function ladder(state, m) {
    var at = ours(state, m.id);
    var rows = [], cls = [];
    m.asks.slice().reverse().forEach(function (l) {
      rows.push(["ask", l[0], l[1], at["ask " + l[0]] || ""]);
      cls.push("ask");
    });
    m.bids.forEach(function (l) {
      rows.push(["bid", l[0], l[1], at["bid " + l[0]] || ""]);
      cls.push("bid");
    });
    return table("ladder-" + m.id, ["side", "price", "amount", "ours"], rows,
      function (i) { return cls[i]; });
  }

  function chart(id, title, data, label, stroke) {
    var host = document.getElementById(id);
    if (!host || data[0].length === 0) return;
    if (charts[id]) {
      charts[id].setData(data);
      return;
    }
    host.textContent = "";
    charts[id] = new uPlot({
      title: title,
      width: Math.max(320, Math.min(520, host.clientWidth || 520)),
      height: 220,
      series: [{ label: "time (UTC)" }, { label: label, stroke: stroke, width: 1.5 }],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
    }, data, host);
    host.dataset.drawn = "1";
  }

  function render(s) {
    var shown = s.markets.filter(function (m) { return m.started; });
    var idle = s.markets.filter(function (m) { return !m.started; }).map(function (m) { return m.id; });
    var sync = shown.map(function (m) {
      return m.id + (m.synced ? " in sync" : " not in sync");
    }).join(", ");
    var header = document.getElementById("header");
    header.textContent = "";
    header.appendChild(el("span", {}, s.feed + " · " + (s.clock || "before the first record") +
      " · " + s.frames + " frames" + (s.feed_done ? " (all played)" : "") +
      (sync ? " · " + sync : "") + (idle.length ? " · no data yet: " + idle.join(", ") : "") +
      (s.malformed_frames ? " · " + s.malformed_frames + " malformed frames" : "")));
    if (s.strategy) {
      header.appendChild(el("br"));
      header.appendChild(el("span", {}, "strategy: " + s.strategy));
    }

    var markets = document.getElementById("markets");
    markets.textContent = "";
    shown.forEach(function (m) {
      var box = markets.appendChild(el("div", { "class": "cols" }));
      var l = box.appendChild(el("div"));
      l.appendChild(el("h2", {}, m.id + " book"));
      l.appendChild(ladder(s, m));
      var t = box.appendChild(el("div"));
      t.appendChild(el("h2", {}, m.id + " last trades"));
      t.appendChild(table("trades-" + m.id, ["id", "price", "amount", "taker"],
        m.trades.map(function (x) { return [x.id, x.price, x.amount, x.taker_type]; })));
    });

    var accounts = document.getElementById("accounts");
    s.accounts.forEach(function (a) {
      var id = "account-" + a.key;
      var box = document.getElementById(id);
      if (!box) {
        box = accounts.appendChild(el("div", { id: id }));
        box.appendChild(el("h2", {}, "Account " + a.key));
        box.appendChild(el("div", { "class": "tables" }));
        var c = box.appendChild(el("div", { "class": "cols" }));
        ["pnl", "equity", "inventory"].forEach(function (k) {
          c.appendChild(el("div", { "class": "chart", id: "chart-" + k + "-" + a.key }));
        });
      }
      var tables = box.querySelector(".tables");
      tables.textContent = "";
      var row = tables.appendChild(el("div", { "class": "cols" }));
      row.appendChild(table("balances-" + a.key, ["currency", "available", "locked"],
        a.balances.map(function (b) { return [b.currency, b.balance, b.locked]; })));
      row.appendChild(table("open-" + a.key, ["id", "market", "side", "price", "remaining", "queue ahead"],
        a.open.map(function (o) { return [o.id, o.market, o.side, o.price, o.remaining, o.queue || ""]; })));
      tables.appendChild(el("h3", {}, "Fills (" + a.fill_count + ", newest first)"));
      tables.appendChild(table("fills-" + a.key,
        ["trade", "order", "market", "side", "price", "amount", "total", "fee"],
        a.fills.map(function (f) {
          return [f.id, f.order_id, f.market, f.side, f.price, f.amount, f.total,
            (f.fee_amount || "") + " " + (f.fee_currency || "")];
        })));
      var t = a.series.t;
      chart("chart-pnl-" + a.key, "PnL", [t, a.series.pnl], "PnL", "#285ac8");
      chart("chart-equity-" + a.key, "Equity", [t, a.series.equity], "equity", "#008c3c");
      chart("chart-inventory-" + a.key, "Inventory", [t, a.series.base], "base held", "#9650b4");
    });
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  var source = new EventSource("dashboard/state");
  source.onmessage = function (e) { render(JSON.parse(e.data)); };
  source.onerror = function () {
    document.getElementById("header").textContent = "disconnected: the session has ended or is unreachable";
  };
})();
