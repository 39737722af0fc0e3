/* pricealert's Mini App (issue 23), part 3 of 3: the lists of alerts, the controls, polling, and the start.
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

  var makeChart = P.makeChart, moveLevel = P.moveLevel, drawLines = P.drawLines, loadChart = P.loadChart,
      chartColours = P.chartColours;

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
        el("span", { "class": "meta", text: (P.away(alert) ? " · " + P.away(alert) : "") + (extras(alert) ? " · " + extras(alert) : "") })
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
    // A /liq step ends with its whole watch (every step), as /delete does in chat: say so first.
    var watch = alert.kind === "liq";
    confirmAsk(say(watch ? "deleteWatchAsk" : "deleteAsk",
                   { id: alert.id, symbol: alert.symbol, level: alert.kind === "level" ? alert.level : describe(alert) }))
      .then(function (ok) {
        if (!ok) { return null; }
        return api("DELETE", "alerts/" + alert.id).then(function () {
          haptic("success");
          toast(say(watch ? "watchDeleted" : "deleted", { id: alert.id, symbol: alert.symbol }), false);
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
          (alert.source !== "last" ? (P.away(alert) ? " · " + P.away(alert) : "")  // which price, and where it is
            : alert.distance ? " (" + (alert.distance[0] === "-" ? "" : "+") + alert.distance + "%)" : "") +
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
      if (data.price) { P.followPrice(Number(data.price), Date.now() / 1000); }
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
    state.poll = setInterval(function () {
      if (document.hidden || state.drag || state.polling) { return; }  // one poll at a time, however slow
      state.polling = true;
      refresh().then(function () { state.polling = false; });
    }, every);
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

  Object.assign(P, { refresh: refresh, stopPolling: stopPolling, renderSymbolAlerts: renderSymbolAlerts,
                     showPrice: showPrice, offer: offer });

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
    var listed = P.opening.listed;  // asked by boot.js, already travelling
    makeChart();
    // The candles first, as soon as their answer is in; the words, the controls and the lists follow the session.
    var drawn = loadChart(P.opening.chart);
    P.opening.session.then(function (session) {
      state.session = session;
      state.words = P.WORDS[session.language] || P.WORDS.en;
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
      return Promise.all([listed.then(renderGroups), drawn]).then(function () {
        if (document.body.getAttribute("data-chart") === "drawn") { renderSymbolAlerts(); }  // drawn before the session
      });
    }).then(function () { if (state.session) { startPolling(); } }).catch(fail);
  }

  /* Where each alert's line is drawn (px from the chart's top): for tests and assistive tools,
     which cannot see into the canvas. */
  P.lineY = function (id) {
    var alert = state.alerts.filter(function (a) { return a.id === id; })[0];
    return alert && state.series ? state.series.priceToCoordinate(Number(alert.level)) : null;
  };
  /* How an alert's line is drawn (its title and lineStyle: 0 solid, 1 dotted, 2 dashed, 4 sparse
     dotted), or null when it has none (a funding alert, a reminder, a move). */
  P.lineOf = function (id) {
    var line = state.lines[id];
    if (!line) { return null; }
    var options = line.options();
    return { title: options.title, lineStyle: options.lineStyle, price: options.price };
  };
  /* The live candle as drawn (time in seconds, prices as numbers), for tests. */
  P.lastBar = function () {
    var bars = state.series ? state.series.data() : [];
    return bars.length ? bars[bars.length - 1] : null;
  };

  start();
}(window.pricealert = window.pricealert || {}));
