// Blocking, muting and reporting (docs/protocol.md, "Blocking, muting,
// reporting and moderation").
//
// Block (POST /api/auth/blocks/ {user_id}, DELETE /api/auth/blocks/<id>/):
// a direct conversation is closed both ways while either blocks the other
// (sending there is refused with `blocked`), typing and presence stop there,
// and the blocker is told of none of the blocked person's messages. Groups
// still carry everything: the server hides nothing, so that seqs stay
// gapless; this client folds a blocked person's messages away instead, as
// the protocol suggests. The list comes from GET /api/auth/blocks/ and
// `block.updated` keeps it current across one's devices.
//
// Mute (PUT /api/chat/<id>/mute/ {until}, DELETE to unmute): no
// `notification` frames (nor pushes) for that conversation until `until`;
// unread counts still move. Each conversation JSON carries `muted` and
// `muted_until`; `conversation.muted` tells one's other devices. A mute that
// runs out needs no frame: its time says so.
//
// Report (POST /api/reports/ {message_id, reason, details}): to the
// moderators; reporting again while one's report is open answers 200 with it.

import {$, el, linkButton, notice, safely, when} from "./util.js";
import {api, apiJson, session} from "./connection.js";

const blocked = new Map(); // user id -> name ("" when only the id is known)
let page = null; // {room(): the open conversation or null, refresh(): render what blocks and mutes change}

/** What the page gives this module: the open conversation, and a way to show what changed. */
export function connectSafety(context) {
  page = context;
}

export const isBlocked = (userId) => blocked.has(userId);

/** Every block, a page at a time (Link: rel="next"), after signing in. */
export async function loadBlocks() {
  blocked.clear();
  let url = "/api/auth/blocks/?limit=200";
  while (url) {
    const response = await api(url);
    for (const {user} of await response.json()) blocked.set(user.id, user.name);
    url = response.headers.get("Link")?.match(/<([^>]+)>; rel="next"/)?.[1] ?? null;
  }
  renderBlocks();
  page.refresh();
}

export function forgetBlocks() {
  blocked.clear();
}

async function block(user) {
  if (!confirm(`Block ${user.name}? Neither of you can write in your direct conversation, and you are not told of their messages.`)) return;
  await apiJson("/api/auth/blocks/", {method: "POST", body: {user_id: user.id}});
  blockChanged({user_id: user.id, blocked: true}, user.name);
}

async function unblock(userId) {
  await api(`/api/auth/blocks/${userId}/`, {method: "DELETE"});
  blockChanged({user_id: userId, blocked: false});
}

/** `block.updated` (this device or another), or the answer to this one's request. */
export function blockChanged(frame, name = "") {
  if (frame.blocked) blocked.set(frame.user_id, name || blocked.get(frame.user_id) || "");
  else blocked.delete(frame.user_id);
  renderBlocks();
  page.refresh();
}

/** The Account panel's list of the people one blocked, each with Unblock. */
function renderBlocks() {
  $("#blocked-people").replaceChildren(...[...blocked].map(([id, name]) => el("li", {"data-testid": "blocked-person"},
    name || id, " ", linkButton("Unblock", () => unblock(id), {"data-testid": "unblock"}))));
  $("#blocked-none").hidden = blocked.size > 0;
}

/** A Block / Unblock button for a person, with its test id. */
export function blockButton(user) {
  return isBlocked(user.id)
    ? linkButton("Unblock", () => unblock(user.id), {"data-testid": "unblock"})
    : linkButton("Block", () => block(user), {"data-testid": "block"});
}

// --- The open room: its block banner and its mute chooser ---------------------------------

/**
 * The room's safety line: in a direct conversation with someone one blocked,
 * say so (nobody can write there) and offer Unblock; otherwise a Block button.
 * The mute chooser shows the conversation's mute.
 */
export function renderRoomSafety(conversation) {
  const peer = conversation?.is_direct ? conversation.users.find((user) => user.id !== session.user.id) : null;
  const banner = $("#blocked-banner");
  banner.hidden = !(peer && isBlocked(peer.id));
  if (!banner.hidden) {
    banner.replaceChildren(`You blocked ${peer.name}: neither of you can write here until you unblock. `,
      linkButton("Unblock", () => unblock(peer.id), {"data-testid": "unblock"}));
  }
  $("#composer").classList.toggle("closed", !banner.hidden);
  $("#message-input").disabled = !banner.hidden;
  $("#room-block").replaceChildren(...(peer && !isBlocked(peer.id) ? [blockButton(peer)] : []));
  renderMute(conversation);
}

/** Whether the conversation is muted now (a mute that ran out is none). */
export const isMuted = (conversation) =>
  Boolean(conversation?.muted) && (!conversation.muted_until || Date.parse(conversation.muted_until) > Date.now());

/** Attributes of a conversation's item in the list: `data-muted` (people.css draws a struck bell) and why. */
export function mutedMark(conversation) {
  if (!isMuted(conversation)) return {};
  const until = conversation.muted_until ? `until ${when(conversation.muted_until)}` : "until you unmute it";
  return {"data-muted": "true", title: `Muted ${until}`};
}

const muteChooser = $("#mute");

function renderMute(conversation) {
  const muted = isMuted(conversation);
  muteChooser.value = muted ? "on" : "";
  const until = muteChooser.querySelector("option[value=on]");
  until.hidden = !muted;
  until.textContent = muted && conversation.muted_until ? `until ${when(conversation.muted_until)}` : "until I unmute";
}

muteChooser.addEventListener("change", safely(async () => {
  const conversation = page.room();
  if (!conversation) return;
  const choice = muteChooser.value;
  try {
    if (choice === "") {
      await api(`/api/chat/${conversation.id}/mute/`, {method: "DELETE"});
      muteChanged(conversation, {muted: false, muted_until: null});
    } else if (choice !== "on") {
      const seconds = Number(choice);
      const until = seconds ? new Date(Date.now() + seconds * 1000).toISOString() : null;
      muteChanged(conversation, await apiJson(`/api/chat/${conversation.id}/mute/`, {method: "PUT", body: {until}}));
    }
  } finally {
    renderMute(page.room()); // what the server has, also when it refused
  }
}));

/** `conversation.muted`, or the answer to this device's request: keep it on the conversation. */
export function muteChanged(conversation, {muted, muted_until}) {
  if (!conversation) return;
  Object.assign(conversation, {muted, muted_until});
  page.refresh();
}

// --- Messages: folded away when from someone blocked; Report on others' messages -------

/** Add to a message's element what blocks and reports change; returns the element. */
export function withSafety(message, element) {
  const author = message.created_by;
  if (message.deleted || message.kind === "system" || author.id === session.user.id) return element;
  if (isBlocked(author.id)) {
    element.classList.add("from-blocked");
    element.dataset.testid = "blocked-message";
    const body = element.querySelector(".body");
    body.hidden = true;
    body.before(el("p", {class: "blocked-note muted"}, "A message from someone you blocked. ",
      linkButton("Show", (event) => { body.hidden = false; event.target.closest("p").remove(); })));
  }
  element.querySelector(".meta")?.append(el("button", {
    type: "button", class: "link report", "data-report": message.id, "data-testid": "report",
  }, "Report"));
  return element;
}

const reportDialog = $("#report-dialog");

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-report]");
  if (!button) return;
  reportDialog.dataset.messageId = button.dataset.report;
  $("#report-form").reset();
  reportDialog.showModal();
});

$("#report-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const body = {message_id: reportDialog.dataset.messageId, reason: $("#report-reason").value};
  const details = $("#report-details").value.trim();
  if (details) body.details = details;
  const response = await api("/api/reports/", {method: "POST", body});
  reportDialog.close();
  // 201: a new report; 200: one's own report of it is still open, and that is it.
  notice(response.status === 201
    ? "Reported: the moderators will look at it."
    : "You have reported this message already; the moderators have not closed that report yet.");
}));
$("#report-cancel").addEventListener("click", () => reportDialog.close());
