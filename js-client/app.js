// The chat demo page of sio-server. Two ways to the same chat room:
//
//  - "sio": socket.io-client (the bundle the server serves at
//    /socket.io/socket.io.min.js), with its own reconnection; the delay, the
//    maximum delay and the randomization are set explicitly.
//  - "ws": the plain WebSocket endpoint /ws, with reconnection written here:
//    exponential backoff (1 s, 2 s, 4 s, ... capped at 30 s) with jitter,
//    reset after a successful connection.
//
// Both connect to the page's own origin, so the page works behind a reverse
// proxy. URL parameters: mode=sio|ws, token=JWT, delay, delayMax (ms), jitter
// (0..1), timeout (connect timeout, ms), path (Engine.IO path), wsPath.
//
// For tests, the state is on <body> (data-state: connecting, connected,
// reconnecting, unauthorized, no-client (the socket.io-client bundle did not
// load: the "sio" mode cannot start, "ws" still works); data-attempt;
// data-mode; data-transport) and in window.__demo (see `demo` below).
"use strict";

(() => {
  const params = new URLSearchParams(location.search);

  /** A numeric URL parameter within [min, max], else def. */
  function numParam(name, def, min, max) {
    if (!params.has(name)) return def;
    const v = Number(params.get(name));
    return Number.isFinite(v) && v >= min && v <= max ? v : def;
  }

  const config = {
    delay: numParam("delay", 1000, 10, 600_000),
    delayMax: numParam("delayMax", 30_000, 10, 3_600_000),
    jitter: numParam("jitter", 0.2, 0, 1),
    connectTimeout: numParam("timeout", 10_000, 100, 120_000),
    path: params.get("path") || "/socket.io/",
    wsPath: params.get("wsPath") || "/ws",
  };
  if (config.delayMax < config.delay) config.delayMax = config.delay;

  /**
   * The delay before reconnection attempt n (1, 2, ...) of the /ws mode:
   * delay * 2^(n-1), capped at delayMax, then moved by up to ±jitter of
   * itself, and never above delayMax. `rand` in [0, 1) picks the jitter.
   */
  function plannedDelay(n, rand = Math.random()) {
    const base = Math.min(config.delay * Math.pow(2, Math.max(0, n - 1)), config.delayMax);
    const jittered = base * (1 + config.jitter * (2 * rand - 1));
    return Math.max(0, Math.round(Math.min(jittered, config.delayMax)));
  }

  const now = () => performance.now();

  // ---------------------------------------------------------------- state

  const initialMode = params.get("mode") === "ws" ? "ws" : "sio";
  const demo = {
    mode: initialMode,
    state: "connecting",
    /** Reconnection attempts started in the current (or last) outage; 0 once connected. */
    attempt: 0,
    /** "polling" or "websocket" ("" while not connected). */
    transport: "",
    /** Socket.IO: ms from the Engine.IO open to the upgrade to WebSocket, or null. */
    upgradedAfterMs: null,
    /** Measured ms between a disconnect or failure and each attempt of the current (or last) outage. */
    delays: [],
    /** The delays the backoff chose for those attempts (the countdowns). */
    planned: [],
    /** performance.now() of the next scheduled attempt, or null. */
    nextRetryAt: null,
    /** Successful connections since the page loaded. */
    connects: 0,
    /** performance.now() of the last one. */
    connectedAt: null,
    /** /ws: a connection closed sooner than this (ms) after it opened does not reset the backoff. */
    stableMs: 2000,
    /** /ws: the last close event {code, reason, wasClean}. */
    lastClose: null,
    lastError: null,
    /** Socket.IO: the Manager's reconnectionDelay, reconnectionDelayMax, randomizationFactor. */
    sioOptions: null,
    /** Socket.IO: this connection's socket id (the name the chat shows without a token), or null. */
    sid: null,
    /** Socket.IO with the server's connection state recovery: whether the
     * last reconnect got the session back (same id, rooms, and the messages
     * sent meanwhile), null before the first reconnect or in /ws mode. */
    recovered: null,
    /** Chat lines the server replayed at the last reconnect (missed while away). */
    replayed: 0,
    /** Every reconnect: {recovered, replayed}. */
    reconnects: [],
    /** Socket.IO: the `users` count. */
    users: null,
    /** Chat lines received from the server, in order (the last 1000). */
    messages: [],
    /** Texts this page sent. */
    sent: [],
    /** Every attempt: {outage, attempt, delay, planned, result}. */
    history: [],
    /** Events: {t (ms since load), event, detail}. */
    log: [],
    config,
    plannedDelay,
  };
  window.__demo = demo;

  let outage = 0; // outages since load
  let inOutage = false;
  let failedAt = null; // performance.now() of the last disconnect or failure

  function log(event, detail = "") {
    demo.log.push({ t: Math.round(now()), event, detail });
    if (demo.log.length > 300) demo.log.splice(0, demo.log.length - 300);
    lastEvent = detail ? `${event}: ${detail}` : event;
  }
  let lastEvent = "";

  /** A disconnect or a failed attempt. */
  function noteFailure(what, detail) {
    if (demo.state === "connected") addSystem(`Connection lost (${detail}). Reconnecting…`);
    failedAt = now();
    demo.transport = "";
    demo.users = null;
    if (!inOutage) {
      inOutage = true;
      outage++;
      demo.delays = [];
      demo.planned = [];
    }
    const last = demo.history[demo.history.length - 1];
    if (last && last.outage === outage && last.result === "pending") last.result = "failed";
    log(what, detail);
    render();
  }

  /** The backoff chose `ms` before the next attempt. */
  function notePlanned(ms) {
    demo.planned.push(ms);
    demo.nextRetryAt = now() + ms;
    setState("reconnecting");
  }

  /** Reconnection attempt n starts. */
  function noteAttempt(n) {
    const delay = failedAt === null ? 0 : Math.round(now() - failedAt);
    demo.attempt = n;
    demo.delays.push(delay);
    demo.nextRetryAt = null;
    demo.history.push({ outage, attempt: n, delay, planned: demo.planned[demo.planned.length - 1] ?? null, result: "pending" });
    if (demo.history.length > 100) demo.history.splice(0, demo.history.length - 100);
    log("attempt", `#${n} after ${delay} ms`);
    setState("reconnecting");
  }

  function noteConnected(detail) {
    const via = demo.mode === "ws" ? "plain /ws" : "Socket.IO";
    addSystem(demo.attempt ? `Reconnected (${via}) at attempt ${demo.attempt}.` : `Connected (${via}).`);
    const last = demo.history[demo.history.length - 1];
    if (last && last.outage === outage && last.result === "pending") last.result = "connected";
    inOutage = false;
    demo.attempt = 0; // the backoff starts over after a successful connection
    demo.nextRetryAt = null;
    demo.connects++;
    demo.connectedAt = now();
    log("connected", detail);
    setState("connected");
  }

  function noteUnauthorized(detail) {
    const last = demo.history[demo.history.length - 1];
    if (last && last.outage === outage && last.result === "pending") last.result = "unauthorized";
    inOutage = false;
    demo.nextRetryAt = null;
    demo.transport = "";
    log("unauthorized", detail);
    addSystem(`The server refused the token (${detail}). Paste a valid token and press Apply.`);
    setState("unauthorized");
  }

  function setState(s) {
    demo.state = s;
    render();
  }

  // ---------------------------------------------------------------- token

  const TOKEN_KEY = "sio-demo-token";
  function storedToken() {
    try {
      return localStorage.getItem(TOKEN_KEY) || "";
    } catch {
      return "";
    }
  }
  let token = params.has("token") ? params.get("token").trim() : storedToken();

  /** The token's payload, decoded but NOT verified (the server verifies it), or null. */
  function tokenClaims(t) {
    const parts = t.split(".");
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(
        Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
      );
      const claims = JSON.parse(json);
      return claims && typeof claims === "object" && !Array.isArray(claims) ? claims : null;
    } catch {
      return null;
    }
  }

  function setToken(t) {
    token = t.trim();
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage unavailable: the URL keeps it */
    }
    const url = new URL(location.href);
    if (url.searchParams.has("token") || !storageWorks()) {
      if (token) url.searchParams.set("token", token);
      else url.searchParams.delete("token");
      history.replaceState(null, "", url);
    }
    log("token", token ? "changed" : "cleared");
    restart();
  }

  function storageWorks() {
    try {
      localStorage.setItem(TOKEN_KEY + "-probe", "1");
      localStorage.removeItem(TOKEN_KEY + "-probe");
      return true;
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- /ws mode

  /** The /ws URL on this origin; with the token, or (for display) a placeholder for it. */
  function wsUrl(withToken) {
    const u = new URL(config.wsPath, location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (token && withToken) u.searchParams.set("token", token);
    return token && !withToken ? `${u.href}${u.search ? "&" : "?"}token=…` : u.href;
  }

  // A /ws connection that closes sooner than this after it opened did not
  // hold: the backoff goes on from where it was instead of starting over, so
  // that a server accepting and dropping at once is not hit every second.
  const STABLE_MS = demo.stableMs;

  function startWs() {
    let ws = null;
    let retryTimer = null;
    let openTimer = null;
    let stopped = false;
    let openedAt = null;
    let attemptsBeforeOpen = 0;

    function open() {
      let sock;
      try {
        sock = new WebSocket(wsUrl(true));
      } catch (e) {
        demo.lastError = e.message;
        noteFailure("attempt failed", e.message);
        schedule();
        return;
      }
      ws = sock;
      openTimer = setTimeout(() => {
        // Not open in time (a silent network): give up on it, retry later.
        if (ws === sock && sock.readyState === WebSocket.CONNECTING) {
          demo.lastError = "connect timeout";
          sock.close();
        }
      }, config.connectTimeout);
      sock.onopen = () => {
        clearTimeout(openTimer);
        if (stopped || ws !== sock) return;
        demo.transport = "websocket";
        openedAt = now();
        attemptsBeforeOpen = demo.attempt;
        noteConnected("/ws open");
      };
      sock.onmessage = (e) => {
        if (!stopped && ws === sock && typeof e.data === "string") addMessage(e.data);
      };
      sock.onclose = (e) => {
        clearTimeout(openTimer);
        if (stopped || ws !== sock) return;
        ws = null;
        demo.lastClose = { code: e.code, reason: e.reason, wasClean: e.wasClean };
        if (e.code === 4001) {
          // The server refused the token: retrying with the same one is pointless.
          demo.lastError = `close ${e.code} ${e.reason}`.trim();
          noteUnauthorized(`close code 4001${e.reason ? ` (${e.reason})` : ""}`);
          return;
        }
        demo.lastError = `close ${e.code}${e.reason ? ` ${e.reason}` : ""}`;
        const wasOpen = openedAt !== null;
        if (wasOpen && now() - openedAt < STABLE_MS) {
          // Dropped right away: count it as a failed attempt of the same outage.
          demo.attempt = attemptsBeforeOpen;
          inOutage = attemptsBeforeOpen > 0;
          const last = demo.history[demo.history.length - 1];
          if (inOutage && last && last.result === "connected") last.result = "dropped";
        }
        openedAt = null;
        noteFailure(wasOpen ? "disconnected" : "attempt failed", `close code ${e.code}`);
        schedule();
      };
    }

    function schedule() {
      const n = demo.attempt + 1;
      notePlanned(plannedDelay(n));
      retryTimer = setTimeout(() => {
        retryTimer = null;
        if (stopped) return;
        noteAttempt(n);
        open();
      }, demo.nextRetryAt - now());
    }

    open();
    return {
      endpoint: () => wsUrl(false),
      send(text) {
        if (!ws || ws.readyState !== WebSocket.OPEN) return false;
        ws.send(text);
        return true;
      },
      stop() {
        stopped = true;
        clearTimeout(retryTimer);
        clearTimeout(openTimer);
        if (ws) {
          try {
            ws.close(1000, "bye");
          } catch {
            /* already closing */
          }
        }
        ws = null;
      },
    };
  }

  // ---------------------------------------------------------- Socket.IO mode

  function startSio() {
    if (typeof io !== "function" || typeof io.Manager !== "function") {
      // Without the bundle nothing would ever connect: say so instead of
      // "connecting" forever. The server logs where it looked for it.
      const src = "/socket.io/socket.io.min.js"; /* no inline onerror: the CSP forbids it */
      demo.lastError = "socket.io-client bundle not loaded";
      log("error", `${demo.lastError} (${src})`);
      addSystem(
        `The Socket.IO client (${src}) did not load: this server has no socket.io-client bundle ` +
          "(its log names where it looked; see its --client-dir option). The plain /ws mode works without it.",
      );
      demo.state = "no-client";
      return { endpoint: () => location.origin + config.path, send: () => false, stop() {} };
    }
    let stopped = false;
    let kickTimer = null;
    let offset = 0; // attempts made by this page itself (after a server-side disconnect)
    const manager = new io.Manager(location.origin, {
      path: config.path,
      transports: ["polling", "websocket"],
      reconnection: true,
      reconnectionDelay: config.delay,
      reconnectionDelayMax: config.delayMax,
      randomizationFactor: config.jitter,
      timeout: config.connectTimeout,
      autoConnect: false,
    });
    // What the Manager runs with (its public getters).
    demo.sioOptions = {
      reconnectionDelay: manager.reconnectionDelay(),
      reconnectionDelayMax: manager.reconnectionDelayMax(),
      randomizationFactor: manager.randomizationFactor(),
    };
    // The countdown needs the delay the Manager's backoff picked; it does not
    // announce it, so watch its duration() (where available).
    const backoff = manager.backoff;
    if (backoff && typeof backoff.duration === "function") {
      const duration = backoff.duration;
      backoff.duration = function (...a) {
        const ms = duration.apply(this, a);
        if (!stopped) notePlanned(ms);
        return ms;
      };
    }
    manager.on("open", () => {
      if (stopped) return;
      const engine = manager.engine;
      const openedAt = now();
      demo.transport = engine.transport.name;
      demo.upgradedAfterMs = null;
      log("engine open", engine.transport.name);
      engine.on("upgrade", (transport) => {
        if (stopped || manager.engine !== engine) return;
        demo.transport = transport.name;
        demo.upgradedAfterMs = Math.round(now() - openedAt);
        log("upgrade", `${transport.name} after ${demo.upgradedAfterMs} ms`);
        render();
      });
      render();
    });
    manager.on("error", (err) => {
      if (stopped) return;
      demo.lastError = err?.message ?? String(err);
      noteFailure(demo.attempt ? "attempt failed" : "connect failed", demo.lastError);
    });
    manager.on("close", (reason) => {
      if (stopped) return;
      noteFailure("disconnected", reason);
    });
    manager.on("reconnect_attempt", (n) => {
      if (!stopped) noteAttempt(n + offset);
    });

    const socket = manager.socket("/", {
      // A function: each (re)connect sends the current token.
      auth: (cb) => cb(token ? { token } : {}),
    });
    // Between a disconnect and the next connect, the "message" events are the
    // ones a recovering server replays: socket.io-client buffers them and
    // emits them just before "connect".
    let away = false;
    let replayed = 0;
    socket.on("connect", () => {
      if (stopped) return;
      if (away) {
        demo.recovered = socket.recovered === true;
        demo.replayed = replayed;
        demo.reconnects.push({ recovered: demo.recovered, replayed });
        addSystem(
          demo.recovered
            ? `Session recovered: ${replayed} missed message${replayed === 1 ? "" : "s"} replayed.`
            : "New session: not recovered (messages sent while away are lost).",
        );
      }
      away = false;
      replayed = 0;
      offset = 0;
      demo.sid = socket.id;
      demo.transport = manager.engine?.transport?.name ?? demo.transport;
      noteConnected(`Socket.IO id ${socket.id}`);
    });
    socket.on("connect_error", (err) => {
      if (stopped) return;
      demo.lastError = err?.message ?? String(err);
      if (demo.lastError === "unauthorized") {
        // socket.io-client does not retry a refused CONNECT; neither do we
        // until the token changes.
        noteUnauthorized("connect_error: unauthorized");
      }
    });
    socket.on("disconnect", (reason) => {
      if (stopped) return;
      away = true;
      replayed = 0;
      demo.lastError = reason;
      if (reason === "io server disconnect") {
        // The server ended the session on purpose; socket.io-client leaves
        // it there. Come back once, after the first backoff delay; if that
        // fails, the Manager's backoff takes over.
        noteFailure("disconnected", reason);
        offset = 1;
        notePlanned(plannedDelay(1));
        kickTimer = setTimeout(() => {
          kickTimer = null;
          if (stopped) return;
          noteAttempt(1);
          socket.connect();
        }, demo.nextRetryAt - now());
      }
    });
    socket.on("message", (line) => {
      if (away) replayed++;
      if (!stopped) addMessage(typeof line === "string" ? line : JSON.stringify(line));
    });
    socket.on("users", (n) => {
      if (stopped) return;
      demo.users = n;
      render();
    });
    socket.connect();

    return {
      endpoint: () => `${location.origin}${config.path}${token ? " (auth.token)" : ""}`,
      socket,
      send(text) {
        if (!socket.connected) return false;
        socket.emit("message", text);
        return true;
      },
      stop() {
        stopped = true;
        clearTimeout(kickTimer);
        socket.disconnect();
        manager._close?.(); // no-op when the socket's disconnect closed it already
        socket.removeAllListeners();
        manager.removeAllListeners();
      },
    };
  }

  // ---------------------------------------------------------------- wiring

  let conn = null;
  function restart() {
    if (conn) conn.stop();
    Object.assign(demo, { state: "connecting", attempt: 0, transport: "", upgradedAfterMs: null, nextRetryAt: null, users: null, lastClose: null, sid: null });
    inOutage = false;
    failedAt = null;
    log("connecting", demo.mode === "ws" ? "plain /ws" : "Socket.IO");
    conn = demo.mode === "ws" ? startWs() : startSio();
    render();
  }

  function switchMode(m) {
    if (m === demo.mode) return;
    demo.mode = m;
    const url = new URL(location.href);
    url.searchParams.set("mode", m);
    history.replaceState(null, "", url);
    addSystem(`switched to ${m === "ws" ? "plain /ws" : "Socket.IO"}`);
    restart();
  }

  // ---------------------------------------------------------------- view

  const $ = (id) => document.getElementById(id);
  const el = {
    body: document.body,
    pill: $("pill"),
    pillText: $("pill-text"),
    state: $("state"),
    attempt: $("attempt"),
    countdown: $("countdown"),
    transport: $("transport"),
    endpoint: $("endpoint"),
    users: $("users"),
    session: $("session"),
    lastEvent: $("last-event"),
    token: $("token"),
    tokenInfo: $("token-info"),
    messages: $("messages"),
    input: $("input"),
    send: $("send"),
    history: $("history"),
    modeSio: $("mode-sio"),
    modeWs: $("mode-ws"),
  };

  /** The name the server shows for this page's messages, when known. */
  function myName() {
    const sub = token ? tokenClaims(token)?.sub : null;
    if (typeof sub === "string") return sub;
    return demo.mode === "sio" ? (conn?.socket?.id ?? null) : null;
  }

  const LINE = /^Client #(.*?) said: ([\s\S]*)$/;

  function appendLine(li) {
    const list = el.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(li);
    while (list.children.length > 500) list.removeChild(list.firstChild);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function addMessage(line) {
    demo.messages.push(line);
    if (demo.messages.length > 1000) demo.messages.splice(0, demo.messages.length - 1000);
    const li = document.createElement("li");
    li.className = "msg";
    const m = LINE.exec(line);
    if (m) {
      const author = document.createElement("span");
      author.className = "author";
      author.textContent = `Client #${m[1]}`;
      const said = document.createElement("span");
      said.className = "said";
      said.textContent = " said: ";
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = m[2];
      li.append(author, said, text);
      if (m[1] === myName()) li.classList.add("self");
    } else {
      li.textContent = line;
    }
    appendLine(li);
  }

  /** The /ws endpoint does not echo a message to its sender: show it here. */
  function addOwn(text) {
    const li = document.createElement("li");
    li.className = "msg self local";
    li.title = "sent over /ws (the server does not echo it back to the sender)";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = "You";
    const said = document.createElement("span");
    said.className = "said";
    said.textContent = " said: ";
    const t = document.createElement("span");
    t.className = "text";
    t.textContent = text;
    li.append(author, said, t);
    appendLine(li);
  }

  function addSystem(text) {
    const li = document.createElement("li");
    li.className = "system";
    li.textContent = text;
    appendLine(li);
  }

  function fmtS(ms) {
    return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  }

  function describeToken() {
    if (!token) return "No token: you chat under your connection id.";
    const c = tokenClaims(token);
    if (!c) return "This token is not a readable JWT; the server decides.";
    const parts = [];
    parts.push(typeof c.sub === "string" ? `For “${c.sub}”` : "No sub claim");
    if (typeof c.exp === "number") {
      const s = Math.round(c.exp - Date.now() / 1000);
      parts.push(s >= 0 ? `expires in ${s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`}` : `expired ${-s >= 120 ? `${Math.round(-s / 60)} min` : `${-s} s`} ago`);
    }
    return `${parts.join(", ")} (read here, checked by the server).`;
  }

  function transportText() {
    if (!demo.transport) return "–";
    if (demo.mode === "ws") return "WebSocket (plain /ws)";
    if (demo.transport === "websocket" && demo.upgradedAfterMs !== null) return `WebSocket (upgraded from polling after ${demo.upgradedAfterMs} ms)`;
    if (demo.transport === "polling") return "HTTP long-polling (upgrading…)";
    return demo.transport === "websocket" ? "WebSocket" : demo.transport;
  }

  function countdownText() {
    if (demo.state === "unauthorized") return "stopped: change the token to retry";
    if (demo.state === "no-client") return "stopped: no socket.io-client bundle";
    if (demo.state === "connected") return "–";
    if (demo.nextRetryAt !== null) {
      const left = Math.max(0, demo.nextRetryAt - now());
      return `attempt ${demo.attempt + 1} in ${(left / 1000).toFixed(1)} s`;
    }
    return demo.attempt ? `attempt ${demo.attempt} in progress…` : "connecting…";
  }

  let renderedHistory = -1;
  function render() {
    const b = el.body.dataset;
    b.state = demo.state;
    b.attempt = String(demo.attempt);
    b.mode = demo.mode;
    b.transport = demo.transport;
    el.pill.className = `pill ${demo.state}`;
    el.pillText.textContent =
      demo.state === "reconnecting" && demo.attempt ? `reconnecting · attempt ${demo.attempt}` : demo.state === "no-client" ? "client bundle missing" : demo.state;
    el.state.textContent = demo.state;
    el.attempt.textContent = String(demo.attempt);
    el.countdown.textContent = countdownText();
    el.transport.textContent = transportText();
    el.endpoint.textContent = conn ? conn.endpoint() : "–";
    el.users.textContent = demo.mode === "ws" ? "– (not sent over /ws)" : demo.users === null ? "–" : `${demo.users} on Socket.IO`;
    el.lastEvent.textContent = lastEvent || "–";
    b.recovered = demo.recovered === null ? "" : String(demo.recovered);
    el.session.textContent =
      demo.recovered === null ? "–" : demo.recovered ? `recovered (${demo.replayed} replayed)` : "new (not recovered)";
    el.tokenInfo.textContent = describeToken();
    const connected = demo.state === "connected";
    el.input.disabled = !connected;
    el.send.disabled = !connected;
    el.input.placeholder = connected ? "Say something…" : "Waiting for the connection…";
    el.modeSio.setAttribute("aria-pressed", String(demo.mode === "sio"));
    el.modeWs.setAttribute("aria-pressed", String(demo.mode === "ws"));
    const key = demo.history.length + demo.history.map((h) => h.result).join();
    if (key !== renderedHistory) {
      renderedHistory = key;
      const items = [];
      let prev = null;
      for (const h of demo.history.slice(-30)) {
        if (h.outage !== prev) {
          prev = h.outage;
          const sep = document.createElement("li");
          sep.className = "outage";
          sep.textContent = `outage ${h.outage}`;
          items.push(sep);
        }
        const li = document.createElement("li");
        li.className = h.result;
        li.textContent = `#${h.attempt} after ${fmtS(h.delay)} → ${h.result}`;
        if (h.planned !== null) li.title = `the backoff planned ${h.planned} ms, measured ${h.delay} ms`;
        items.push(li);
      }
      if (!items.length) {
        const li = document.createElement("li");
        li.className = "outage";
        li.textContent = "none yet";
        items.push(li);
      }
      el.history.replaceChildren(...items);
    }
  }

  // Countdown ticker.
  setInterval(() => {
    if (demo.nextRetryAt !== null || demo.state !== "connected") el.countdown.textContent = countdownText();
  }, 100);

  el.modeSio.addEventListener("click", () => switchMode("sio"));
  el.modeWs.addEventListener("click", () => switchMode("ws"));

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(el.token.value);
  });
  $("token-clear").addEventListener("click", () => {
    el.token.value = "";
    setToken("");
  });

  $("send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = el.input.value;
    if (!text.trim() || !conn) return;
    if (!conn.send(text)) return;
    demo.sent.push(text);
    if (demo.mode === "ws") addOwn(text);
    el.input.value = "";
    el.input.focus();
  });

  el.token.value = token;
  $("backoff-desc").textContent =
    `${fmtS(config.delay)}, doubling up to ${fmtS(config.delayMax)}, ±${Math.round(config.jitter * 100)} % jitter`;
  $("origin").textContent = location.origin;
  restart();
})();
