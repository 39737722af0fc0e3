/* pricealert's Mini App (issue 23), part 1 of 3: its words in English and Chinese, its state, and the API client.
 *
 * The API (bot/webapp/api.py) returns facts, decimals as strings; these files word them in the
 * chat's language (en, zh) and draw them with TradingView's lightweight-charts. Every request
 * carries Telegram's initData; the user is never sent.
 *
 * Plain scripts loaded in order by index.html (no bundler; the CSP allows the app's own files
 * only). They share one namespace, window.pricealert: each adds what it defines, and calls what a
 * later file defines through it (P.refresh()), at call time.
 */
(function (P) {
  "use strict";

  var WORDS = {
    en: {
      symbol: "Symbol", interval: "Interval", chart: "Chart", newAlert: "New alert at", note: "Note",
      addHere: "+ alert here", onSymbol: "Alerts on {symbol}", all: "All alerts ({count}/{max})",
      none: "No alerts yet.", levelOf: "Level of alert #{id}", noteOf: "Note of alert #{id}",
      deleteOf: "Delete alert #{id}", deleteAsk: "Delete alert #{id} ({symbol} {level})?",
      deleteWatchAsk: "Delete alert #{id} and every warning of its {symbol} liquidation watch?",
      watchDeleted: "🗑 Alert #{id} and its {symbol} liquidation watch deleted.",
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
      noteSaved: "📝 Note of #{id} saved.",
      notAllowed: "Sorry, this bot serves only the chats its owner chose, and this is not one of them.",
      busy: "Still working on your previous requests; please try again in a moment.",
      markPrice: "mark price", indexPrice: "index price", fundingRate: "funding rate",
      fromSource: "{percent}% from {source} {price}", unknownSource: "{source} unknown", fundingNow: "now {rate}%",
      reminder: "funding reminder {lead} before", liq: "⚠️ liquidation warning (liquidation price {liquidation})",
      legend: "┈ Dotted lines: levels on the mark price (M) or the index price (I); liq: /liq warnings.",
      notPriceLevel: "This alert's level is not a price to move here: change it in the chat (/edit, /liq).",
      noMark: "There is no fresh mark price right now: please try again in a minute."
    },
    zh: {
      symbol: "交易对", interval: "周期", chart: "图表", newAlert: "新提醒价位", note: "备注",
      addHere: "+ 在此提醒", onSymbol: "{symbol} 的提醒", all: "全部提醒（{count}/{max}）",
      none: "还没有提醒。", levelOf: "提醒 #{id} 的价位", noteOf: "提醒 #{id} 的备注",
      deleteOf: "删除提醒 #{id}", deleteAsk: "删除提醒 #{id}（{symbol} {level}）？",
      deleteWatchAsk: "删除提醒 #{id} 以及它所属的 {symbol} 强平监控的所有提醒？",
      watchDeleted: "🗑 提醒 #{id} 及其 {symbol} 强平监控已删除。",
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
      noteSaved: "📝 #{id} 的备注已保存。",
      notAllowed: "抱歉，此机器人只为其所有者选定的聊天服务，这个聊天不在其中。",
      busy: "仍在处理你之前的请求，请稍后再试。",
      markPrice: "标记价格", indexPrice: "指数价格", fundingRate: "资金费率",
      fromSource: "距{source} {price} {percent}%", unknownSource: "{source}未知", fundingNow: "当前 {rate}%",
      reminder: "资金费结算前 {lead} 提醒", liq: "⚠️ 强平预警（强平价格 {liquidation}）",
      legend: "┈ 点线：按标记价格（M）或指数价格（I）设置的价位；liq：/liq 强平预警。",
      notPriceLevel: "此提醒的价位不能在这里移动：请在聊天中修改（/edit、/liq）。",
      noMark: "暂时没有最新的标记价格：请一分钟后再试。"
    }
  };

  var tg = window.Telegram && window.Telegram.WebApp;
  var told = tg && tg.initDataUnsafe && tg.initDataUnsafe.user && tg.initDataUnsafe.user.language_code;
  var state = {
    words: /^zh/.test(told || "") ? WORDS.zh : WORDS.en,  // Telegram's language until the chat's is known
    session: null, symbol: null, interval: "1h", precision: 2, price: null,
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

  /* An answer's JSON, or an ApiError with the error's JSON. */
  function answer(sent) {
    return sent.then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new ApiError(response.status, data); }
        return data;
      });
    });
  }

  function api(method, path, body) { return answer(P.send(method, path, body)); }

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
    if (error.status === 401 || code === "not_allowed") {  // nothing on this page can work: say why, once
      state.fatal = true;
      P.stopPolling();
      $("app").hidden = true;
      var box = $("problem");
      box.textContent = say(error.status === 401 ? "reopen" : "notAllowed");
      box.hidden = false;
      return;
    }
    haptic("error");
    var messages = {
      admins_only: "adminsOnly", not_a_member: "notMember", too_many_alerts: "tooMany", slow_down: "slowDown",
      not_found: "gone", move_alert: "moveAlert", exchange_unavailable: "exchange",
      not_a_price_level: "notPriceLevel", no_mark_price: "noMark",
      busy: "busy", too_slow: "problem"
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

  /* "mark price" / "index price" for an alert on that price, "" for the last price. */
  function sourceName(alert) {
    return alert.source === "mark" ? say("markPrice") : alert.source === "index" ? say("indexPrice") : "";
  }

  /* M / I on a mark or index line, "liq" on a /liq step's (the legend under the chart says so). */
  function lineTag(alert) {
    return alert.kind === "liq" ? "liq " : alert.source === "mark" ? "M " : alert.source === "index" ? "I " : "";
  }

  function describe(alert) {
    if (alert.kind === "move") {
      return say("move", { percent: alert.level, window: duration(alert.window_seconds || 60) });
    }
    if (alert.kind === "reminder") { return say("reminder", { lead: duration(Number(alert.level)) }); }
    var arrow = alert.direction === "up" ? say("rises") : say("falls");
    if (alert.kind === "funding") { return say("fundingRate") + " " + arrow + " " + alert.level + "%"; }
    var text = (sourceName(alert) ? sourceName(alert) + " " : "") + arrow + " " + alert.level;
    return alert.kind === "liq" ? say("liq", { liquidation: alert.liquidation }) + " · " + text : text;
  }

  /* Where the price the alert watches is: "+1.41% from mark price 71000", the funding rate now,
     or that the mark (index) price is unknown; "" for a move alert or a reminder. */
  function away(alert) {
    if (alert.kind === "funding") { return alert.watched ? say("fundingNow", { rate: alert.watched }) : ""; }
    if (alert.kind === "move" || alert.kind === "reminder") { return ""; }
    var percent = alert.distance ? (alert.distance[0] === "-" ? "" : "+") + alert.distance : null;
    if (!sourceName(alert)) { return percent ? say("fromPrice", { percent: percent, price: alert.watched }) : ""; }
    if (!percent) { return say("unknownSource", { source: sourceName(alert) }); }
    return say("fromSource", { percent: percent, source: sourceName(alert), price: alert.watched });
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

  /* The first answers, asked by boot.js before anything else loaded (else now: the initData came
     another way than Telegram's fragment). The chart asked there is at the default interval. */
  state.symbol = P.wanted || null;
  var sent = P.sent || {};
  P.opening = {
    session: answer(sent.session || P.send("GET", "session")),
    listed: answer(sent.listed || P.send("GET", "alerts")),
    chart: answer(sent.chart || P.send("GET", "chart?" + (P.wanted ? "symbol=" + encodeURIComponent(P.wanted) + "&" : "") +
                                       "interval=" + state.interval))
  };
  P.opening.listed.catch(function () { /* the session's answer says why */ });
  P.opening.chart.catch(function () { /* loadChart says why */ });

  P.WORDS = WORDS;
  P.tg = tg;
  P.state = state;
  Object.assign(P, { $: $, say: say, el: el, haptic: haptic, ApiError: ApiError, api: api, toast: toast, fail: fail,
                     confirmAsk: confirmAsk, withFarCheck: withFarCheck, duration: duration, describe: describe,
                     extras: extras, away: away, lineTag: lineTag });
}(window.pricealert = window.pricealert || {}));
