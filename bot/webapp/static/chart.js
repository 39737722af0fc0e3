/* pricealert's Mini App (issue 23), part 2 of 3: the candlestick chart, its alert lines, dragging them, and the live candle.
 *
 * Plain scripts loaded in order by index.html (no bundler; the CSP allows the app's own files
 * only). They share one namespace, window.pricealert: each adds what it defines, and calls what a
 * later file defines through it (P.refresh()), at call time.
 */
(function (P) {
  "use strict";

  var tg = P.tg, state = P.state, $ = P.$, say = P.say, el = P.el, haptic = P.haptic, ApiError = P.ApiError,
      api = P.api, toast = P.toast, fail = P.fail, confirmAsk = P.confirmAsk, withFarCheck = P.withFarCheck,
      describe = P.describe, extras = P.extras;

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function chartColours() {
    return {
      layout: { background: { color: cssVar("--bg", "#ffffff") }, textColor: cssVar("--text", "#000000"), attributionLogo: true },
      grid: { vertLines: { color: "rgba(128,128,128,0.15)" }, horzLines: { color: "rgba(128,128,128,0.15)" } }
    };
  }

  function makeChart() {
    var charts = window.LightweightCharts;
    var box = $("chart");
    state.chart = charts.createChart(box, Object.assign({ autoSize: true, rightPriceScale: { borderVisible: false },
      timeScale: { timeVisible: true, borderVisible: false }, crosshair: { mode: 0 } }, chartColours()));
    state.series = state.chart.addSeries(charts.CandlestickSeries, {
      upColor: "#1a9e5c", downColor: "#d14e4e", wickUpColor: "#1a9e5c", wickDownColor: "#d14e4e", borderVisible: false
    });
    state.chart.subscribeClick(function (param) {  // a tap on the chart puts its price in "+ alert here"
      if (!param.point || state.drag) { return; }
      var price = state.series.coordinateToPrice(param.point.y);
      if (price !== null && price > 0) { $("add-level").value = price.toFixed(state.precision); }
    });
    box.addEventListener("pointerdown", dragStart);
    box.addEventListener("pointermove", dragMove);
    box.addEventListener("pointerup", dragEnd);
    box.addEventListener("pointercancel", dragCancel);
  }

  /* Dragging a level line: lightweight-charts has none built in (its plugin examples do it so). */
  var GRAB = 8;  // px from a line that still takes it

  function yOf(event) { return event.clientY - $("chart").getBoundingClientRect().top; }

  function dragStart(event) {
    if (!state.session || !state.session.may_change) { return; }
    var y = yOf(event), best = null;
    state.alerts.forEach(function (alert) {
      if (alert.kind !== "level" || !state.lines[alert.id]) { return; }
      var at = state.series.priceToCoordinate(Number(alert.level));
      if (at !== null && Math.abs(at - y) <= GRAB && (!best || Math.abs(at - y) < best.distance)) {
        best = { alert: alert, distance: Math.abs(at - y) };
      }
    });
    if (!best) { return; }
    state.drag = { alert: best.alert, price: null };
    state.chart.applyOptions({ handleScroll: false, handleScale: false });
    $("chart").setPointerCapture(event.pointerId);
    event.preventDefault();
    haptic("drag");
  }

  function dragMove(event) {
    if (!state.drag) { return; }
    var price = state.series.coordinateToPrice(yOf(event));
    if (price === null || price <= 0) { return; }
    state.drag.price = price.toFixed(state.precision);
    state.lines[state.drag.alert.id].applyOptions({ price: Number(state.drag.price),
                                                     title: "#" + state.drag.alert.id + " " + P.lineTag(state.drag.alert) + state.drag.price });
    event.preventDefault();
  }

  function dragEnd(event) {
    if (!state.drag) { return; }
    var drag = state.drag;
    dragCancel(event);
    if (drag.price === null || drag.price === drag.alert.level) { return; }
    moveLevel(drag.alert.id, drag.price);
  }

  function dragCancel(event) {
    if (!state.drag) { return; }
    state.drag = null;
    state.chart.applyOptions({ handleScroll: true, handleScale: true });
    try { $("chart").releasePointerCapture(event.pointerId); } catch (ignored) { /* already released */ }
  }

  function moveLevel(id, level) {
    return withFarCheck(function (confirm) {
      return api("PATCH", "alerts/" + id, { level: level, confirm: confirm });
    }).then(function (result) {
      if (!result) { return P.refresh(); }
      haptic("success");
      toast(result.passed ? say("passed", { id: id, level: result.alert.level })
                          : say("saved", { id: id, level: result.alert.level }), false);
      return P.refresh();
    }).catch(function (error) { fail(error); return P.refresh(); });
  }

  function drawLines() {
    var seen = {}, dotted = false;
    state.alerts.forEach(function (alert) {
      // price lines only: a funding alert's level is a rate, a reminder's a time; a /liq step is drawn, not dragged
      if (alert.kind !== "level" && alert.kind !== "liq") { return; }
      seen[alert.id] = true;
      var futures = alert.source === "mark" || alert.source === "index";  // dotted (1; waiting: sparse 4), as /chart
      dotted = dotted || futures;
      var options = {
        price: Number(alert.level), color: alert.direction === "up" ? "#1a9e5c" : "#d14e4e", lineWidth: 2,
        lineStyle: futures ? (alert.state === "active" ? 1 : 4) : (alert.state === "active" ? 0 : 2), axisLabelVisible: true,
        title: "#" + alert.id + " " + P.lineTag(alert) + alert.level + (alert.repeat_seconds ? " ↻" : "") + (alert.expires_at ? " ◷" : "")
      };
      if (state.drag && state.drag.alert.id === alert.id) { return; }
      if (state.lines[alert.id]) { state.lines[alert.id].applyOptions(options); }
      else { state.lines[alert.id] = state.series.createPriceLine(options); }
    });
    Object.keys(state.lines).forEach(function (id) {
      if (!seen[id]) { state.series.removePriceLine(state.lines[id]); delete state.lines[id]; }
    });
    $("chart-legend").textContent = dotted ? say("legend") : "";
    $("chart-legend").hidden = !dotted;
  }

  /* `pending`: the first chart, asked by boot.js together with the session (its symbol may be the
     server's choice: the chat's first); it is drawn as soon as it is in, whichever answer comes first. */
  function loadChart(pending) {
    if (!state.symbol && !pending) { return Promise.resolve(); }
    var asked = state.symbol + "/" + state.interval;
    var answer = pending || api("GET", "chart?symbol=" + encodeURIComponent(state.symbol) + "&interval=" + state.interval);
    return answer.then(function (data) {
      if (asked !== state.symbol + "/" + state.interval) { return; }
      state.symbol = data.symbol;
      $("symbol").value = data.symbol;
      state.precision = data.precision;
      state.price = data.price;
      state.alerts = data.alerts;
      if (!state.fatal) { $("app").hidden = false; }  // the first chart shows before the session's answer if it comes first
      state.series.applyOptions({ priceFormat: { type: "price", precision: data.precision, minMove: Math.pow(10, -data.precision) } });
      state.series.setData(data.bars.map(function (bar) {
        return { time: bar[0], open: Number(bar[1]), high: Number(bar[2]), low: Number(bar[3]), close: Number(bar[4]) };
      }));
      state.chart.timeScale().fitContent();
      drawLines();
      if (state.session) { P.renderSymbolAlerts(); }  // else once the session says who may change them
      P.showPrice();
      if (!$("add-level").value) { $("add-level").value = data.price; }
      document.body.setAttribute("data-chart", "drawn");
      document.body.setAttribute("data-symbol", data.symbol);
    }).catch(function (error) {
      if (error instanceof ApiError && error.body.error === "unknown_symbol") { P.offer(state.symbol, error.body.suggestions || []); return; }
      fail(error);
    });
  }

  var UNIT = { m: 60, h: 3600, d: 86400, w: 604800 };

  function secondsOf(interval) {
    var match = /^(\d+)([mhdw])$/.exec(interval || "");
    return match ? Number(match[1]) * UNIT[match[2]] : 0;
  }

  /* The last price polled, on the live candle: it moves its close, high and low; when that candle's
     interval has ended, a new one starts at the boundary, opening at the previous close. After
     more than one interval (a sleeping phone), the chart is fetched again rather than guessed. */
  function followPrice(price, now) {
    var bars = state.series ? state.series.data() : [], step = secondsOf(state.interval);
    if (!bars.length || !step) { return; }
    var last = Object.assign({}, bars[bars.length - 1]);
    var ended = Math.floor((now - last.time) / step);
    if (ended >= 2) { loadChart(); return; }
    if (ended === 1) {
      state.series.update({ time: last.time + step, open: last.close, high: Math.max(last.close, price),
                            low: Math.min(last.close, price), close: price });
      return;
    }
    last.close = price; last.high = Math.max(last.high, price); last.low = Math.min(last.low, price);
    state.series.update(last);
  }

  Object.assign(P, { followPrice: followPrice, chartColours: chartColours, makeChart: makeChart, moveLevel: moveLevel, drawLines: drawLines,
                     loadChart: loadChart });
}(window.pricealert = window.pricealert || {}));
