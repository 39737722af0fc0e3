/* pricealert's Mini App: the chat's alerts on a candlestick chart (issue 23).
 *
 * Framework-free. The API (bot/webapp/api.py) returns facts, decimals as strings; this file
 * words them in the chat's language (en, zh) and draws them with TradingView's
 * lightweight-charts. Every request carries Telegram's initData; the user is never sent.
 */
(function () {
  "use strict";

  var WORDS = {
    en: {
      symbol: "Symbol", interval: "Interval", chart: "Chart", newAlert: "New alert at", note: "Note",
      addHere: "+ alert here", onSymbol: "Alerts on {symbol}", all: "All alerts ({count}/{max})",
      none: "No alerts yet.", levelOf: "Level of alert #{id}", noteOf: "Note of alert #{id}",
      deleteOf: "Delete alert #{id}", deleteAsk: "Delete alert #{id} ({symbol} {level})?",
      rises: "rises to ≥", falls: "falls to ≤", move: "moves ±{percent}% within {window}",
      every: "↻ every {duration}", until: "until {moment}", waiting: "⏳ waits for a new crossing",
      paused: "⏸ paused", cooling: "😴 resting", passed: "⏳ #{id}: the price is already past {level}; it fires on the next crossing.",
      saved: "✏️ #{id} moved to {level}.", created: "✅ Alert #{id} at {level}.", deleted: "🗑 Alert #{id} deleted.",
      farAsk: "{level} is more than 10× away from the price ({price}). Is it what you meant?",
      reopen: "This page must be opened from Telegram. Please close it and open it again from the bot's chat.",
      adminsOnly: "Only the group's administrators can change alerts.",
      notMember: "This group's alerts are for its members.", unknown: "{symbol} is not listed. Did you mean:",
      tooMany: "This chat has {limit} alerts, the most it may have.", slowDown: "Too many changes at once: wait a minute.",
      gone: "That alert no longer exists.", moveAlert: "A move alert has no level to move.",
      badLevel: "Write a price like 70000 or 0.0525.", problem: "Something went wrong; please try again.",
      exchange: "The exchange does not answer right now.", fromPrice: "{percent}% from {price}",
      noteSaved: "📝 Note of #{id} saved."
    },
    zh: {
      symbol: "交易对", interval: "周期", chart: "图表", newAlert: "新提醒价位", note: "备注",
      addHere: "+ 在此提醒", onSymbol: "{symbol} 的提醒", all: "全部提醒（{count}/{max}）",
      none: "还没有提醒。", levelOf: "提醒 #{id} 的价位", noteOf: "提醒 #{id} 的备注",
      deleteOf: "删除提醒 #{id}", deleteAsk: "删除提醒 #{id}（{symbol} {level}）？",
      rises: "涨到 ≥", falls: "跌到 ≤", move: "{window} 内波动 ±{percent}%",
      every: "↻ 每 {duration}", until: "到 {moment} 为止", waiting: "⏳ 等待新的穿越",
      paused: "⏸ 已暂停", cooling: "😴 冷却中", passed: "⏳ #{id}：价格已越过 {level}，将在下次穿越时提醒。",
      saved: "✏️ #{id} 已移到 {level}。", created: "✅ 提醒 #{id}，价位 {level}。", deleted: "🗑 提醒 #{id} 已删除。",
      farAsk: "{level} 与现价（{price}）相差超过 10 倍。确定吗？",
      reopen: "此页面需要从 Telegram 打开。请关闭后从机器人的聊天中重新打开。",
      adminsOnly: "只有群管理员可以修改提醒。",
      notMember: "此群的提醒仅对成员开放。", unknown: "{symbol} 不存在。你是指：",
      tooMany: "此聊天已有 {limit} 个提醒，已达上限。", slowDown: "操作太频繁：请等一分钟。",
      gone: "该提醒已不存在。", moveAlert: "波动提醒没有可移动的价位。",
      badLevel: "请写成 70000 或 0.0525 这样的价格。", problem: "出错了，请重试。",
      exchange: "交易所暂时没有响应。", fromPrice: "距 {price} {percent}%",
      noteSaved: "📝 #{id} 的备注已保存。"
    }
  };

  var tg = window.Telegram && window.Telegram.WebApp;
  var state = {
    words: WORDS.en, session: null, symbol: null, interval: "1h", precision: 2, price: null,
    alerts: [], lines: {}, chart: null, series: null, drag: null, history: [], poll: null, last: ""
  };
  var $ = function (id) { return document.getElementById(id); };

  function say(key, values) {
    var text = state.words[key] || WORDS.en[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(String(values[name])); });
    return text;
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attributes[name]; } else { node.setAttribute(name, attributes[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function haptic(kind) {
    try {
      if (!tg || !tg.HapticFeedback) { return; }
      if (kind === "drag") { tg.HapticFeedback.impactOccurred("light"); } else { tg.HapticFeedback.notificationOccurred(kind); }
    } catch (ignored) { /* older clients */ }
  }

  function ApiError(status, body) { this.status = status; this.body = body || {}; }

  function api(method, path, body) {
    var headers = { "Authorization": "tma " + ((tg && tg.initData) || "") };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch("api/" + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
                                  credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) { throw new ApiError(response.status, data); }
          return data;
        });
      });
  }

  function toast(text, bad) {
    var box = $("problem");
    if (tg && tg.showAlert && tg.isVersionAtLeast && tg.isVersionAtLeast("6.2") && bad) { tg.showAlert(text); }
    box.textContent = text;
    box.hidden = false;
    box.className = bad ? "bad" : "ok";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { if (!state.fatal) { box.hidden = true; } }, 4000);
  }

  function fail(error) {
    if (!(error instanceof ApiError)) { toast(say("problem"), true); return; }
    var code = error.body.error;
    if (error.status === 401) {
      state.fatal = true;
      stopPolling();
      $("app").hidden = true;
      var box = $("problem");
      box.textContent = say("reopen");
      box.hidden = false;
      return;
    }
    haptic("error");
    var messages = {
      admins_only: "adminsOnly", not_a_member: "notMember", too_many_alerts: "tooMany", slow_down: "slowDown",
      not_found: "gone", move_alert: "moveAlert", exchange_unavailable: "exchange"
    };
    if (messages[code]) { toast(say(messages[code], { limit: error.body.limit }), true); return; }
    if (/level|precise|large|positive/.test(code || "")) { toast(say("badLevel"), true); return; }
    toast(say("problem"), true);
  }

  function confirmAsk(text) {
    return new Promise(function (resolve) {
      if (tg && tg.showConfirm && tg.isVersionAtLeast && tg.isVersionAtLeast("6.2")) {
        tg.showConfirm(text, function (ok) { resolve(!!ok); });
      } else {
        resolve(window.confirm(text));
      }
    });
  }

  /* Sends a change; a level 10x away is asked about first, as /alert asks. */
  function withFarCheck(send) {
    return send(false).catch(function (error) {
      if (error instanceof ApiError && error.status === 409 && error.body.error === "far_level") {
        return confirmAsk(say("farAsk", { level: error.body.level, price: error.body.price })).then(function (ok) {
          return ok ? send(true) : null;
        });
      }
      throw error;
    });
  }

  function duration(seconds) {
    var minutes = Math.floor(seconds / 60), days = Math.floor(minutes / 1440), hours = Math.floor(minutes % 1440 / 60);
    var parts = [days ? days + "d" : "", hours ? hours + "h" : "", minutes % 60 ? minutes % 60 + "m" : ""];
    return parts.filter(Boolean).join(" ") || "1m";
  }

  function describe(alert) {
    if (alert.kind === "move") {
      return say("move", { percent: alert.level, window: duration(alert.window_seconds || 60) });
    }
    return (alert.direction === "up" ? say("rises") : say("falls")) + " " + alert.level;
  }

  function extras(alert) {
    var parts = [];
    if (alert.repeat_seconds) { parts.push(say("every", { duration: duration(alert.repeat_seconds) })); }
    if (alert.expires_at) { parts.push(say("until", { moment: alert.expires_at.replace("T", " ").slice(0, 16) + " UTC" })); }
    if (alert.state === "arming") { parts.push(say("waiting")); }
    if (alert.state === "paused") { parts.push(say("paused")); }
    if (alert.state === "cooling" || alert.state === "waiting") { parts.push(say("cooling")); }
    return parts.join(" · ");
  }

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
                                                     title: "#" + state.drag.alert.id + " " + state.drag.price });
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
      if (!result) { return refresh(); }
      haptic("success");
      toast(result.passed ? say("passed", { id: id, level: result.alert.level })
                          : say("saved", { id: id, level: result.alert.level }), false);
      return refresh();
    }).catch(function (error) { fail(error); return refresh(); });
  }

  function drawLines() {
    var seen = {};
    state.alerts.forEach(function (alert) {
      if (alert.kind !== "level") { return; }
      seen[alert.id] = true;
      var options = {
        price: Number(alert.level), color: alert.direction === "up" ? "#1a9e5c" : "#d14e4e", lineWidth: 2,
        lineStyle: alert.state === "active" ? 0 : 2, axisLabelVisible: true,
        title: "#" + alert.id + " " + alert.level + (alert.repeat_seconds ? " ↻" : "") + (alert.expires_at ? " ◷" : "")
      };
      if (state.drag && state.drag.alert.id === alert.id) { return; }
      if (state.lines[alert.id]) { state.lines[alert.id].applyOptions(options); }
      else { state.lines[alert.id] = state.series.createPriceLine(options); }
    });
    Object.keys(state.lines).forEach(function (id) {
      if (!seen[id]) { state.series.removePriceLine(state.lines[id]); delete state.lines[id]; }
    });
  }

  function renderSymbolAlerts() {
    $("symbol-alerts-title").textContent = say("onSymbol", { symbol: state.symbol || "" });
    var list = $("symbol-alerts");
    var focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : null;
    if (focused) { return; }  // never rebuild under the user's typing; the next poll catches up
    list.textContent = "";
    if (!state.alerts.length) { list.appendChild(el("li", { text: say("none") })); }
    state.alerts.forEach(function (alert) {
      var editable = state.session.may_change;
      var item = el("li", { "data-alert": String(alert.id) });
      var what = el("div", { "class": "what" }, [
        el("strong", { "class": alert.direction === "down" ? "down" : "up", text: "#" + alert.id + " " + describe(alert) }),
        el("span", { "class": "meta", text: (alert.distance ? " · " + say("fromPrice", { percent: (alert.distance[0] === "-" ? "" : "+") + alert.distance, price: state.price }) : "") + (extras(alert) ? " · " + extras(alert) : "") })
      ]);
      item.appendChild(what);
      if (alert.kind === "level") {
        var levelForm = el("form", {}, [
          el("label", { "for": "level-" + alert.id, text: say("levelOf", { id: alert.id }) }),
          el("input", { id: "level-" + alert.id, inputmode: "decimal", maxlength: "40", value: alert.level })
        ]);
        if (!editable) { levelForm.querySelector("input").setAttribute("readonly", ""); }
        levelForm.addEventListener("submit", function (event) {
          event.preventDefault();
          var value = levelForm.querySelector("input").value.trim();
          if (value && value !== alert.level) { levelForm.querySelector("input").blur(); moveLevel(alert.id, value); }
        });
        item.appendChild(levelForm);
      } else {
        item.appendChild(el("span"));
      }
      var remove = el("button", { type: "button", "class": "danger", text: "✕", "aria-label": say("deleteOf", { id: alert.id }) });
      remove.disabled = !editable;
      remove.addEventListener("click", function () { deleteAlert(alert); });
      item.appendChild(remove);
      var noteForm = el("form", {}, [
        el("label", { "for": "note-" + alert.id, text: say("noteOf", { id: alert.id }) }),
        el("input", { id: "note-" + alert.id, maxlength: "200", value: alert.note || "" })
      ]);
      if (!editable) { noteForm.querySelector("input").setAttribute("readonly", ""); }
      noteForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var input = noteForm.querySelector("input");
        input.blur();
        api("PATCH", "alerts/" + alert.id, { note: input.value }).then(function () {
          haptic("success");
          toast(say("noteSaved", { id: alert.id }), false);
          return refresh();
        }).catch(fail);
      });
      item.appendChild(noteForm);
      list.appendChild(item);
    });
  }

  function deleteAlert(alert) {
    confirmAsk(say("deleteAsk", { id: alert.id, symbol: alert.symbol, level: alert.kind === "level" ? alert.level : describe(alert) }))
      .then(function (ok) {
        if (!ok) { return null; }
        return api("DELETE", "alerts/" + alert.id).then(function () {
          haptic("success");
          toast(say("deleted", { id: alert.id }), false);
          return refresh();
        });
      }).catch(fail);
  }

  function renderGroups(data) {
    $("all-title").textContent = say("all", { count: data.count, max: data.max });
    var box = $("groups");
    box.textContent = "";
    if (!data.groups.length) { box.appendChild(el("p", { "class": "meta", text: say("none") })); }
    data.groups.forEach(function (group) {
      var list = el("ul");
      group.alerts.forEach(function (alert) {
        var label = "#" + alert.id + " " + alert.symbol + " " + describe(alert) +
          (alert.distance ? " (" + (alert.distance[0] === "-" ? "" : "+") + alert.distance + "%)" : "") +
          (extras(alert) ? " · " + extras(alert) : "") + (alert.note ? " — " + alert.note : "");
        var open = el("button", { type: "button", text: label });
        open.addEventListener("click", function () { openSymbol(alert.symbol, true); window.scrollTo(0, 0); });
        list.appendChild(el("li", {}, [open]));
      });
      box.appendChild(el("section", { "class": "group" }, [
        el("h3", { text: group.symbol + (group.price ? " · " + group.price : "") }), list]));
    });
  }

  function renderIntervals() {
    var box = $("intervals");
    box.textContent = "";
    box.setAttribute("aria-label", say("interval"));
    state.session.intervals.forEach(function (name) {
      var button = el("button", { type: "button", text: name, "aria-pressed": String(name === state.interval) });
      button.addEventListener("click", function () { state.interval = name; renderIntervals(); loadChart(); });
      box.appendChild(button);
    });
  }

  function showPrice() {
    $("price").textContent = state.price ? state.symbol + " " + state.price : "";
  }

  function loadChart() {
    if (!state.symbol) { return Promise.resolve(); }
    var asked = state.symbol + "/" + state.interval;
    return api("GET", "chart?symbol=" + encodeURIComponent(state.symbol) + "&interval=" + state.interval).then(function (data) {
      if (asked !== state.symbol + "/" + state.interval) { return; }
      state.precision = data.precision;
      state.price = data.price;
      state.alerts = data.alerts;
      state.series.applyOptions({ priceFormat: { type: "price", precision: data.precision, minMove: Math.pow(10, -data.precision) } });
      state.series.setData(data.bars.map(function (bar) {
        return { time: bar[0], open: Number(bar[1]), high: Number(bar[2]), low: Number(bar[3]), close: Number(bar[4]) };
      }));
      state.chart.timeScale().fitContent();
      drawLines();
      renderSymbolAlerts();
      showPrice();
      if (!$("add-level").value) { $("add-level").value = data.price; }
      document.body.setAttribute("data-chart", "drawn");
      document.body.setAttribute("data-symbol", data.symbol);
    }).catch(function (error) {
      if (error instanceof ApiError && error.body.error === "unknown_symbol") { offer(state.symbol, error.body.suggestions || []); return; }
      fail(error);
    });
  }

  function offer(symbol, suggestions) {
    var box = $("suggestions");
    box.textContent = "";
    if (!suggestions.length) { return; }
    box.appendChild(el("span", { "class": "meta", text: say("unknown", { symbol: symbol }) + " " }));
    suggestions.forEach(function (name) {
      var pick = el("button", { type: "button", text: name });
      pick.addEventListener("click", function () { openSymbol(name, true); });
      box.appendChild(pick);
    });
  }

  function openSymbol(symbol, remember) {
    symbol = String(symbol || "").trim().toUpperCase();
    if (!symbol || symbol === state.symbol) { return Promise.resolve(); }
    if (remember && state.symbol) { state.history.push(state.symbol); }
    updateBackButton();
    state.symbol = symbol;
    state.price = null;
    $("symbol").value = symbol;
    $("suggestions").textContent = "";
    $("add-level").value = "";
    return loadChart();
  }

  function updateBackButton() {
    if (!tg || !tg.BackButton) { return; }
    if (state.history.length) { tg.BackButton.show(); } else { tg.BackButton.hide(); }
  }

  function back() {
    var previous = state.history.pop();
    updateBackButton();
    if (previous) { state.symbol = null; openSymbol(previous, false); }
  }

  function refresh() {
    var live = state.symbol ? api("GET", "live?symbol=" + encodeURIComponent(state.symbol)).then(function (data) {
      if (data.symbol !== state.symbol) { return; }
      state.price = data.price;
      state.alerts = data.alerts;
      var bars = state.series.data();
      if (bars.length && data.price) {  // the last candle follows the last price
        var last = Object.assign({}, bars[bars.length - 1]), price = Number(data.price);
        last.close = price; last.high = Math.max(last.high, price); last.low = Math.min(last.low, price);
        state.series.update(last);
      }
      drawLines();
      renderSymbolAlerts();
      showPrice();
      renderGroups(data);
    }) : api("GET", "alerts").then(renderGroups);
    return live.catch(fail);
  }

  function startPolling() {
    var every = Math.max(1, state.session.poll_seconds) * 1000;
    stopPolling();
    state.poll = setInterval(function () { if (!document.hidden && !state.drag) { refresh(); } }, every);
  }

  function stopPolling() { if (state.poll) { clearInterval(state.poll); state.poll = null; } }

  function suggestSymbols() {
    var typed = $("symbol").value.trim();
    if (!typed || typed === state.last) { return; }
    state.last = typed;
    api("GET", "symbols?q=" + encodeURIComponent(typed)).then(function (data) {
      var list = $("symbol-suggestions");
      list.textContent = "";
      (data.suggestions || []).forEach(function (name) { list.appendChild(el("option", { value: name })); });
    }).catch(function () { /* suggestions are a help, not a need */ });
  }

  function wordPage() {
    document.documentElement.lang = state.session.language === "zh" ? "zh-Hans" : "en";
    $("symbol-label").textContent = say("symbol");
    $("chart-title").textContent = say("chart");
    $("add-label").textContent = say("newAlert");
    $("add-note-label").textContent = say("note");
    $("add-note").setAttribute("placeholder", say("note"));
    $("add-button").textContent = say("addHere");
    $("add-button").disabled = !state.session.may_change;
  }

  function applyTheme() {
    if (state.chart) { state.chart.applyOptions(chartColours()); }
  }

  function start() {
    if (tg) {
      tg.ready();
      tg.expand();
      if (tg.isVersionAtLeast && tg.isVersionAtLeast("7.7") && tg.disableVerticalSwipes) { tg.disableVerticalSwipes(); }
      if (tg.BackButton) { tg.BackButton.onClick(back); }
      tg.onEvent("themeChanged", applyTheme);
    }
    var listed = api("GET", "alerts");  // asked together with the session: one round trip less
    listed.catch(function () { /* the session's answer says why */ });
    makeChart();  // built while the answers travel: the first chart is drawn as soon as its data is in
    api("GET", "session").then(function (session) {
      state.session = session;
      state.words = WORDS[session.language] || WORDS.en;
      state.interval = session.default_interval;
      $("app").hidden = false;
      wordPage();
      renderIntervals();
      $("symbol-form").addEventListener("submit", function (event) { event.preventDefault(); openSymbol($("symbol").value, true); });
      $("symbol").addEventListener("input", suggestSymbols);
      $("symbol").addEventListener("change", function () { openSymbol($("symbol").value, true); });
      $("add-form").addEventListener("submit", function (event) {
        event.preventDefault();
        var level = $("add-level").value.trim(), note = $("add-note").value;
        if (!level || !state.symbol) { return; }
        withFarCheck(function (confirm) {
          return api("POST", "alerts", { symbol: state.symbol, level: level, note: note, confirm: confirm });
        }).then(function (result) {
          if (!result) { return; }
          haptic("success");
          $("add-note").value = "";
          toast(result.passed ? say("passed", { id: result.alert.id, level: result.alert.level })
                              : say("created", { id: result.alert.id, level: result.alert.level }), false);
          return refresh();
        }).catch(fail);
      });
      var wanted = new URLSearchParams(window.location.search).get("symbol");
      return listed.then(function (data) {
        renderGroups(data);
        var first = data.groups.length ? data.groups[0].symbol : "BTCUSDT";
        return openSymbol(wanted || first, false);
      });
    }).then(function () { if (state.session) { startPolling(); } }).catch(fail);
  }

  /* Where each alert's line is drawn (px from the chart's top): for tests and assistive tools,
     which cannot see into the canvas. */
  window.pricealert = {
    lineY: function (id) {
      var alert = state.alerts.filter(function (a) { return a.id === id; })[0];
      return alert && state.series ? state.series.priceToCoordinate(Number(alert.level)) : null;
    }
  };

  start();
}());
