// The Account panel: where one is signed in, a copy of one's data, the
// password and deleting the account (the profile: profile.js; the people one
// blocked: safety.js).
//
// Sessions (GET /api/auth/sessions/, DELETE /api/auth/sessions/<id>/): each
// sign-in is a session; ending one blacklists its refresh token and closes
// its sockets with 4401, so the page signed in there finds itself signed out
// (connection.js: a 4401 tries a renewal, which the server refuses).
//
// Data export (docs/exports.md): POST /api/auth/export/ asks, the worker
// builds a zip, `export.updated` on the notifications socket says when it is
// ready or failed, and GET /api/auth/export/ gives a fresh signed download
// link (the frame carries none). Once a day: sooner is a 429 whose detail
// says from when, shown as it is.

import {$, el, linkButton, notice, safely, when} from "./util.js";
import {api, apiJson, replaceSession, saveSession, scheduleRenewal, session, signOutHere} from "./connection.js";
import {showProfile} from "./profile.js";

const panel = $("#account");

async function loadSessions() {
  const sessions = await apiJson("/api/auth/sessions/?limit=100");
  $("#sessions").replaceChildren(...sessions.map((item) => el("li", {"data-testid": "session", "data-id": item.id},
    el("strong", {}, item.device || "Unknown device"), " ",
    el("span", {class: "muted"}, `${item.address || "address unknown"} · last used ${when(item.last_used_at ?? item.created_at)}`),
    " ",
    item.current
      ? el("span", {class: "this-device", "data-testid": "this-device"}, "this device")
      : linkButton("Sign out", () => endSession(item.id), {"data-testid": "end-session"}))));
}

async function endSession(id) {
  await api(`/api/auth/sessions/${id}/`, {method: "DELETE"});
  notice("That session is signed out.");
  await loadSessions();
}

const EXPORT_STATES = {
  pending: "Asked for: waiting for its turn…",
  building: "Being built…",
  ready: "Ready.",
  failed: "It could not be built; you may ask again.",
  expired: "The last one has expired; you may ask for another.",
};

/** The latest export's state, and its download link when it is ready. */
async function loadExport() {
  const latest = await apiJson("/api/auth/export/").catch((error) => {
    if (error.status === 404) return null; // never asked
    throw error;
  });
  showExport(latest);
}

function showExport(latest) {
  const state = $("#export-state");
  const link = $("#export-download");
  state.dataset.state = latest?.status ?? "none";
  state.textContent = latest ? EXPORT_STATES[latest.status] ?? latest.status : "You have not asked for a copy of your data yet.";
  link.hidden = latest?.status !== "ready" || !latest.download_url;
  if (!link.hidden) {
    link.href = latest.download_url; // signed, needs no token: it works for DATA_EXPORT_URL_EXPIRE seconds
    const size = latest.size ? ` (${Math.ceil(latest.size / 1024)} KiB)` : "";
    link.textContent = `Download your data${size}, until ${when(latest.expires_at)}`;
  }
}

$("#export-ask").addEventListener("click", safely(async () => {
  if (!confirm("Make a copy of your profile, conversations, messages and files? You will be told here when it is ready.")) return;
  try {
    showExport(await apiJson("/api/auth/export/", {method: "POST"}));
  } catch (error) {
    if (error.code !== "export_too_soon") throw error;
    // Once a day: the answer says in how many seconds (retry_after); said here in the reader's own time.
    const next = new Date(Date.now() + (error.body.retry_after ?? 0) * 1000);
    $("#export-state").dataset.state = "refused";
    $("#export-state").textContent = `You can ask for one copy of your data a day; you can ask again from ${when(next.toISOString())}.`;
  }
}));

/** `export.updated` from the notifications socket: ready, failed or expired; ask for the state (and a fresh link). */
export function exportUpdated() {
  if (!panel.hidden) safely(loadExport)();
  else notice("Your data export has changed: see Account.");
}

$("#show-account").addEventListener("click", safely(async () => {
  panel.hidden = !panel.hidden;
  if (panel.hidden) return;
  showProfile();
  await Promise.all([loadSessions(), loadExport()]);
}));
$("#close-account").addEventListener("click", () => { panel.hidden = true; });

export function closeAccount() {
  panel.hidden = true;
}

// --- Password and deleting the account --------------------------------------------
//
// POST /api/auth/password/ {current_password, new_password}: every session
// ends, this one included, and their sockets close with 4401; the answer is a
// new session for this client, as a login's. So this page carries on with
// the new tokens (its sockets reconnect with them) while every other device
// finds itself signed out. A wrong current password is a 400
// `wrong_password`; attempts count against the login limits.
//
// POST /api/auth/me/delete/ {password}: the account is gone for good. Its
// messages stay, from "Deleted user"; it leaves its groups; every session ends.

$("#password-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const form = event.target;
  const [current, next, again] = ["#password-current", "#password-new", "#password-again"].map((id) => $(id).value);
  if (next !== again) return notice("The new password and its repetition differ.");
  const user = session.user;
  await replaceSession(async () => {
    const answer = await apiJson("/api/auth/password/", {
      method: "POST", body: {current_password: current, new_password: next},
    });
    saveSession({access: answer.access, refresh: answer.refresh, user: {...user, ...answer.user}});
  });
  scheduleRenewal();
  form.reset();
  notice("Your password is changed. Every other device is signed out; this one carries on.");
  await loadSessions();
}));

$("#delete-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  if (!confirm("Delete your account for good? Your messages stay, from \u201cDeleted user\u201d. This cannot be undone.")) return;
  await api("/api/auth/me/delete/", {method: "POST", body: {password: $("#delete-password").value}});
  event.target.reset();
  signOutHere("Your account is deleted.");
}));
