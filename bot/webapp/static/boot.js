/* pricealert's Mini App (issue 23): the first requests, sent before anything else loads.
 *
 * The server inlines this file into index.html, first in <head> (bot/webapp/api.py), and names
 * its hash in the Content-Security-Policy: no other inline script runs. So the session, the list
 * and the first chart are asked as the page arrives, with no round trip before them, and travel
 * while Telegram's script, the chart library and the page's own scripts download and parse.
 * Telegram hands a Mini App its initData in the URL's fragment (tgWebAppData), which is where
 * its own script reads it (or, after a reload, from sessionStorage); this file reads it from the
 * same places. The server checks it on every request as before: nothing here is trusted.
 * Without it, nothing is sent early, and api.js asks once Telegram's script has run.
 */
(function (P) {
  "use strict";

  function initData() {
    var tg = window.Telegram && window.Telegram.WebApp;
    if (tg && tg.initData) { return tg.initData; }
    try {
      var fragment = new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppData");
      if (fragment) { return fragment; }
      var stored = JSON.parse(window.sessionStorage.getItem("__telegram__initParams") || "null");
      return (stored && stored.tgWebAppData) || "";
    } catch (ignored) { return ""; }
  }

  /* One API request (api.js reads its answer): initData in the Authorization header, never stored. */
  function send(method, path, body) {
    var headers = { "Authorization": "tma " + initData() };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch("api/" + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
                                  credentials: "same-origin", cache: "no-store" });
  }

  P.send = send;
  /* The list and the first chart are asked with the session (the chart without a symbol opens on
     the chat's first): the first chart is drawn after one round trip, not three in a row. */
  var wanted = (new URLSearchParams(window.location.search).get("symbol") || "").trim().toUpperCase();
  P.wanted = wanted;
  if (initData()) {
    P.sent = {
      session: send("GET", "session"),
      listed: send("GET", "alerts"),
      chart: send("GET", "chart?" + (wanted ? "symbol=" + encodeURIComponent(wanted) + "&" : "") + "interval=1h")
    };
  }
}(window.pricealert = window.pricealert || {}));
