// The connection to the server: the session's tokens (kept fresh), REST
// calls that carry them, and WebSockets that stay connected. Everything the
// client says to the server goes through api() or a LiveSocket.

import {JSON_HEADERS, safely} from "./util.js";

// A socket that has sent nothing for PING_EVERY gets a ping; if nothing at all
// comes back within PONG_DEADLINE the connection is taken for dead (a laptop
// lid, a dropped Wi-Fi: the browser may not notice for minutes) and replaced.
// /demo/?ping=2 shortens both, to watch it happen.
const PING_EVERY = (Number(new URLSearchParams(location.search).get("ping")) || 25) * 1000;
const PONG_DEADLINE = Math.min(10_000, PING_EVERY);

// --- Session and tokens ----------------------------------------------------------
// Tokens live in sessionStorage: they survive a reload, not the closing of the tab.

const STORE = "chat-demo-session";
export let session = JSON.parse(sessionStorage.getItem(STORE) || "null"); // {access, refresh, user}
let renewTimer = 0;
let renewing = null;
let sessionEnded = () => {}; // the page's sign-out, told when a renewal finds the session over

/** What to do when the session turns out to be over (logged out elsewhere, revoked, expired). */
export function onSessionEnded(handler) {
  sessionEnded = handler;
}

let replacing = null; // a request on its way that gives this page a new session (a password change)

/** Run ``request``, which saves a new session: a refused renewal meanwhile waits for it instead of signing out. */
export async function replaceSession(request) {
  replacing = request();
  try {
    return await replacing;
  } finally {
    replacing = null;
  }
}

/** End the session here, saying why (the account was deleted, say): the page signs out. */
export const signOutHere = (reason) => sessionEnded(reason);

export const stopRenewal = () => clearTimeout(renewTimer);

export function saveSession(next) {
  session = next;
  if (next) sessionStorage.setItem(STORE, JSON.stringify(next));
  else sessionStorage.removeItem(STORE);
}

function claims(token) {
  return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
}

/**
 * Trade the refresh token for a new access token: true when renewed, false
 * when the session is over (logged out, expired). Concurrent callers (a burst
 * of 401s) share one request.
 */
export function renewToken() {
  renewing ??= (async () => {
    try {
      const {refresh} = session;
      const response = await fetch("/api/auth/token/refresh/", {
        method: "POST", headers: JSON_HEADERS, body: JSON.stringify({refresh}),
      });
      if (response.status === 401 && replacing) await replacing.catch(() => {});
      // A password change gave this page a new session meanwhile: the old one's refusal says nothing.
      if (response.status === 401 && session?.refresh !== refresh) return Boolean(session);
      if (response.status === 401) {
        sessionEnded("Your session has ended; log in again.");
        return false;
      }
      if (!response.ok) throw new Error(`Could not renew the session (${response.status}).`);
      const body = await response.json();
      saveSession({...session, access: body.access, refresh: body.refresh ?? session.refresh});
      scheduleRenewal();
      // An open socket keeps the token it connected with and is closed (4401)
      // when that one expires, unless it is handed the new one.
      for (const socket of LiveSocket.open) socket.send({type: "auth", token: session.access});
      return true;
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

/** Renew a fifth of the token's lifetime (at most a minute) before it expires. */
export function scheduleRenewal(delay) {
  clearTimeout(renewTimer);
  if (delay === undefined) {
    const {iat, exp} = claims(session.access);
    delay = exp * 1000 - Math.min(60, (exp - iat) / 5) * 1000 - Date.now();
  }
  renewTimer = setTimeout(() => renewToken().catch(() => scheduleRenewal(5000)), Math.max(0, delay));
}

/** A REST call with the access token; a 401 renews the token once and tries again. */
export async function api(path, {method = "GET", body, retried = false} = {}) {
  const response = await fetch(path, {
    method,
    headers: {...JSON_HEADERS, Authorization: `Bearer ${session.access}`},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !retried) {
    if (await renewToken()) return api(path, {method, body, retried: true});
  }
  if (!response.ok) {
    const error = await response.json().catch(() => ({}));
    // The one error shape (docs/errors.md): `code` for programs, `detail` for people.
    throw Object.assign(new Error(error.detail || `${method} ${path} failed (${response.status}).`),
      {status: response.status, code: error.code, body: error});
  }
  return response;
}
export const apiJson = async (path, options) => (await api(path, options)).json();

// --- Sockets ---------------------------------------------------------------------

/**
 * A WebSocket that stays connected: it reconnects with back-off, detects a
 * dead connection with ping/pong, and builds its URL afresh each time, so a
 * reconnect carries the current token and the room's last seq.
 */
export class LiveSocket {
  static open = new Set(); // sockets to hand a renewed token

  constructor({path, onOpen = () => {}, onFrame, onState = () => {}}) {
    Object.assign(this, {path, onOpen, onFrame, onState, attempts: 0, stopped: false});
    this.connect();
  }

  connect() {
    clearTimeout(this.retry);
    this.retrying = false;
    this.token = session.access;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = this.ws = new WebSocket(`${scheme}://${location.host}/${this.path()}`);
    this.onState(this.attempts ? "reconnecting" : "connecting");
    ws.onopen = () => {
      LiveSocket.open.add(this);
      // Renewed while this socket was connecting with the old token: pass the new one on.
      if (this.token !== session.access) this.send({type: "auth", token: session.access});
      this.heartbeat();
      this.onState("open");
      this.onOpen();
    };
    ws.onmessage = (event) => {
      // 4429 and 4503 are sent after an accept, so only a frame shows the server took us.
      this.attempts = 0;
      this.heartbeat();
      const frame = JSON.parse(event.data);
      if (frame.type !== "pong") this.onFrame(frame);
    };
    ws.onclose = (event) => this.closed(event.code);
  }

  heartbeat() {
    clearTimeout(this.pinger);
    clearTimeout(this.deadline);
    this.pinger = setTimeout(() => {
      this.send({type: "ping"});
      this.deadline = setTimeout(() => this.drop(), PONG_DEADLINE);
    }, PING_EVERY);
  }

  /** Give up on a connection that stopped answering, without waiting for the browser to agree. */
  drop() {
    const ws = this.ws;
    ws.onmessage = ws.onclose = null;
    // Closing a socket that is still connecting makes the browser log an error; close it once open.
    ws.onopen = ws.readyState === WebSocket.CONNECTING ? () => ws.close() : null;
    if (ws.readyState === WebSocket.OPEN) ws.close();
    this.closed(1006);
  }

  closed(code) {
    LiveSocket.open.delete(this);
    clearTimeout(this.pinger);
    clearTimeout(this.deadline);
    if (this.stopped) return;
    if (code === 4403 || code === 4404) { // not a member, or no such path: retrying cannot help
      this.onState("refused");
      return;
    }
    this.onState("reconnecting");
    // 4429 (too many sockets), 4503 (Redis down) and lost connections alike:
    // 1 s, 2 s, 4 s… up to 30 s, jittered so that clients dropped together
    // do not all come back in the same instant.
    const delay = Math.min(30_000, 1000 * 2 ** this.attempts++) * (0.5 + Math.random() / 2);
    this.retrying = true;
    this.retry = setTimeout(safely(async () => {
      // 4401: the token expired or the session ended; a new token first (or sign-out).
      if (code === 4401 && !(await renewToken().catch(() => true))) return;
      if (!this.stopped) this.connect();
    }), delay);
  }

  /** The network is back: do not wait out the back-off. */
  reconnectNow() {
    if (this.retrying && !this.stopped) this.connect();
  }

  send(frame) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    this.drop();
  }
}
