// The demo client: one page that uses nothing but the public REST API
// (/api/, schema at /api/schema/) and the WebSockets of docs/protocol.md, as
// any other client would. Read it top to bottom: signing in, the conversation
// list, then the open room. The session's tokens, REST calls and sockets that
// stay connected are in connection.js; features of their own (the account
// panel, scheduled messages, webhooks, previews and badges, finding people,
// managing groups, profiles, blocking, muting and reporting) in modules beside it;
// the panes, the address, the tab's title and the keyboard in layout.js.

import {$, byTime, clock, el, JSON_HEADERS, linkButton, newClientId, notice, safely} from "./util.js";
import {closeAccount, exportUpdated} from "./account.js";
import {botBadge, previewCard} from "./cards.js";
import {showWebhooks} from "./webhooks.js";
import {listShown, roomShown, showUnread, wantedConversation} from "./layout.js";
import {closeScheduled, connectScheduled, scheduledFailed, scheduledSent} from "./scheduled.js";
import {connectPeople} from "./people.js";
import {closeGroupManagement, connectGroups, memberActions, renderGroupManagement} from "./groups.js";
import {avatar, startProfile} from "./profile.js";
import {blockChanged, connectSafety, forgetBlocks, loadBlocks, muteChanged, mutedMark, renderRoomSafety, withSafety} from "./safety.js";
import {pushSignOut, pushStarted, setUpPush} from "./push.js";
import {api, apiJson, LiveSocket, onSessionEnded, saveSession, scheduleRenewal, session, stopRenewal} from "./connection.js";
import {clearComposer, composerFields, connectPage, reactionChanged, withMessageParts, withThreadParts} from "./messages.js";

const MESSAGE_PAGE = 30;
const CONVERSATION_PAGE = 20;
const TYPING_SHOWN = 4000; // senders repeat `typing` every 2 s while they type

// --- Signing in and out ------------------------------------------------------------

let notifications = null;

function start() {
  $("#auth").hidden = true;
  $("#app").hidden = false;
  $("#me").hidden = false;
  $("#my-name").textContent = session.user.name;
  $("#my-id").textContent = session.user.id;
  scheduleRenewal();
  loadConversations().then(() => {
    showReadReceiptsSetting(); // after the first request: it renews a stale token on its own
    startProfile();
    loadBlocks().catch((error) => notice(error.message));
    reopenConversation();
    notifications = new LiveSocket({
      path: () => `ws/notifications/?token=${session.access}`,
      onOpen: () => sendSync(),
      onFrame: notificationFrame,
      onState: (state) => { $("#feed-status").dataset.state = state; },
    });
    return pushStarted();
  }).catch((error) => notice(error.message));
}

/** The conversation open before a reload (in the address) opens again; one no longer yours is forgotten. */
function reopenConversation() {
  const id = wantedConversation();
  if (!id) return listShown();
  safely(async () => {
    try {
      await ensureConversation(id);
    } catch (error) {
      listShown();
      throw error;
    }
    await openRoom(id);
  })();
}

function signOut(reason = "") {
  notifications?.stop();
  room?.socket?.stop();
  if (room) clearTyping();
  notifications = room = null;
  stopRenewal();
  saveSession(null);
  conversations.clear();
  online.clear();
  forgetBlocks();
  closeAccount();
  renderConversations();
  listShown();
  $("#room").hidden = true;
  $("#no-room").hidden = false;
  $("#app").hidden = $("#me").hidden = true;
  $("#auth").hidden = false;
  $("#auth-error").textContent = reason;
}

$("#auth-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const register = event.submitter?.value === "register";
  const [email, password] = [form.get("email"), form.get("password")];
  // Registration asks for the password twice; this form asks once.
  const body = register ? {email, password1: password, password2: password, name: form.get("name")} : {email, password};
  const response = await fetch(register ? "/api/auth/register/" : "/api/auth/login/", {
    method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    // Register and login put field messages at the top level (docs/errors.md); `detail` says it all.
    $("#auth-error").textContent = answer.detail;
    return;
  }
  saveSession({access: answer.access, refresh: answer.refresh, user: answer.user});
  event.target.reset();
  $("#auth-error").textContent = "";
  start();
}));

$("#logout").addEventListener("click", safely(async () => {
  await pushSignOut(); // while the token still works
  const {refresh} = session;
  signOut();
  // Blacklists the refresh token; the server also closes the session's sockets.
  await fetch("/api/auth/logout/", {method: "POST", headers: JSON_HEADERS, body: JSON.stringify({refresh})});
}));

$("#copy-id").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(session.user.id);
    notice("Your id is copied: send it to someone to chat.");
  } catch {
    getSelection().selectAllChildren($("#my-id")); // no clipboard access: leave it selected
  }
});

// --- The conversation list --------------------------------------------------------

const conversations = new Map(); // id -> list item (GET /api/chat/ shape)
const online = new Map(); // user id -> true/false, from REST, presence.state and presence
let nextConversations = null;

async function loadConversations(url = `/api/chat/?limit=${CONVERSATION_PAGE}`) {
  const response = await api(url);
  for (const conversation of await response.json()) remember(conversation);
  // Pages are cursors in the Link header, so a conversation that moves up
  // while you page is neither skipped nor shown twice.
  nextConversations = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "")?.[1] ?? null;
  renderConversations();
}

function remember(conversation) {
  for (const user of conversation.users) if (typeof user.online === "boolean") online.set(user.id, user.online);
  const known = conversations.get(conversation.id);
  conversations.set(conversation.id, {last_message: null, unread_count: 0, ...known, ...conversation});
}

/**
 * After every (re)connect of the notifications socket: the last seq known
 * of each conversation. The answer covers the conversations with newer
 * messages, and every one missing from the map, most recently active first.
 */
function sendSync() {
  const known = Object.fromEntries([...conversations.values()].map((c) => [c.id, c.last_seq]));
  notifications.send({type: "sync", conversations: known});
}

function syncResult(frame) {
  // Conversations older than the last loaded page are missing from the map
  // too; they belong to "Load more", so the answer is read only down to them.
  const oldest = nextConversations ? [...conversations.values()].sort(byTime).at(-1) : null;
  for (const {conversation, unread_count, muted, muted_until, messages, has_more} of frame.conversations) {
    if (oldest && !conversations.has(conversation.id) && byTime(conversation, oldest) > 0) return renderConversations();
    remember({...conversation, unread_count, muted, muted_until}); // a mute made while this page was away too
    const item = conversations.get(conversation.id);
    if (has_more) { // the newest messages were left out: fetch the latest one for the preview
      safely(async () => {
        [item.last_message] = await apiJson(`/api/chat/${item.id}/messages/?limit=1`);
        renderConversations();
      })();
    } else if (messages.length) {
      item.last_message = messages.at(-1);
    }
  }
  renderConversations();
  if (frame.more) sendSync(); // the map now holds what just came, so the next page follows
}

function notificationFrame(frame) {
  const item = conversations.get(frame.conversation_id ?? frame.conversation?.id);
  switch (frame.type) {
    case "sync.result": return syncResult(frame);
    case "conversation.created":
      remember(frame.conversation);
      presenceOfNewMembers(frame.conversation);
      break;
    case "conversation.updated":
      // Renamed, members or roles changed; gone from the list once the user is no longer in it.
      if (frame.conversation.users.some((user) => user.id === session.user.id)) remember(frame.conversation);
      else if (conversations.delete(frame.conversation.id) && room?.id === frame.conversation.id) return closeRoom();
      if (room?.id === frame.conversation.id) {
        $("#room-title").textContent = titleOf(frame.conversation);
        renderMembers();
        renderReceipts(); // one who left is no longer among those who saw
      }
      disappearingChanged(frame.conversation);
      break;
    case "conversation.join_requested": onJoinRequested(frame); break;
    case "notification":
      if (!item) return loadConversations().catch((error) => notice(error.message));
      noteMessage(item, frame.message);
      // The open room reads it at once, and an `unread` frame will say so. A reply in a
      // thread counts in its thread's unread count, not the conversation's.
      if (!frame.message.thread_id && !(room?.id === item.id && document.visibilityState === "visible")) {
        item.unread_count += 1;
      }
      break;
    case "unread":
      if (item) item.unread_count = frame.unread_count;
      break;
    case "chat.message.updated":
    case "chat.message.deleted":
      if (item?.last_message?.seq === frame.seq) item.last_message = frame;
      break;
    case "presence": return setOnline(frame.user_id, frame.online);
    case "presence.changes": return setOnlineMany(frame);
    case "conversation.notifications": return levelChanged(item, frame.level);
    case "draft.updated": draftChanged(item, frame.draft); break;
    case "user.status": return statusChanged(frame);
    case "export.updated": return exportUpdated(frame);
    case "block.updated": return blockChanged(frame);
    case "conversation.muted": return muteChanged(item, frame);
    case "scheduled.failed":
      return scheduledFailed(frame, titleOf(conversations.get(frame.scheduled.conversation_id) ?? {users: []}));
    case "error": return notice(errorText(frame));
  }
  if (frame.mentioned) noticeMention(item, frame.message);
  renderConversations();
}

/** A message of a conversation arrived (on any socket): it becomes the preview. */
function noteMessage(item, message) {
  if (message.seq < (item.last_message?.seq ?? 0)) return;
  item.last_message = message;
  item.last_seq = Math.max(item.last_seq, message.seq);
  item.modified_at = message.created_at;
}

/**
 * A conversation.created frame carries no presence (it is the same for every
 * member): whether its members are online comes from GET /api/chat/presence/,
 * unless the room opened meanwhile (the one who started it) and told.
 */
function presenceOfNewMembers(conversation) {
  const unknownNow = () => conversation.users.filter((user) => user.id !== session?.user.id && !online.has(user.id));
  if (!unknownNow().length) return;
  setTimeout(safely(async () => {
    const unknown = unknownNow();
    if (!session || !unknown.length) return;
    const {online: ids} = await apiJson("/api/chat/presence/");
    if (ids === null) return; // presence is unknown just now (Redis down): the dots stay as they are
    for (const user of unknown) if (!online.has(user.id)) online.set(user.id, ids.includes(user.id));
    renderConversations();
    renderMembers();
  }), 1000);
}

function setOnline(userId, isOnline) {
  online.set(userId, isOnline);
  renderConversations();
  renderMembers();
}

// A burst's changes in one frame (docs/protocol.md, "presence.changes").
function setOnlineMany(frame) {
  for (const userId of frame.online) online.set(userId, true);
  for (const userId of frame.offline) online.set(userId, false);
  renderConversations();
  renderMembers();
}

const others = (conversation) => conversation.users.filter((user) => user.id !== session.user.id);
function titleOf(conversation) {
  // A direct conversation has no title of its own: it is the other person. An
  // untitled group says it is one, or one with a single other member would
  // read like the direct conversation with them.
  if (conversation.title) return conversation.title;
  const names = others(conversation).map((user) => user.name).join(", ");
  if (conversation.is_direct) return names || "Just you";
  return names ? `Group with ${names}` : "Group of just you";
}

function preview(message) {
  if (!message) return "No messages yet";
  if (message.kind === "system") return message.body; // "Bob left" says who already
  return message.deleted ? tombstoneText(message) : `${message.created_by.name}: ${mentionsAsText(message)}`;
}

function renderConversations() {
  const list = $("#conversations");
  list.replaceChildren(...[...conversations.values()].sort(byTime).map((c) => {
    const peer = c.is_direct ? others(c)[0] : null;
    return el("li", {"data-testid": "conversation", "data-id": c.id, class: room?.id === c.id ? "active" : "", ...mutedMark(c)},
      el("button", {type: "button", "data-open": c.id},
        peer ? el("span", {class: "face"}, avatar(peer), el("span", {class: "dot", "data-online": String(online.get(peer.id) === true)})) : null,
        el("span", {class: "title"}, titleOf(c)),
        peer && statusText(peer) ? el("span", {class: "peer-status", "data-testid": "peer-status"}, statusText(peer)) : null,
        c.unread_count ? el("span", {class: "badge", "data-testid": "unread"}, String(c.unread_count)) : null,
        el("span", {class: "preview"}, c.draft?.body && room?.id !== c.id ? `Draft: ${c.draft.body}` : preview(c.last_message))));
  }));
  $("#more-conversations").hidden = !nextConversations;
  showUnread([...conversations.values()].reduce((total, c) => total + (c.unread_count || 0), 0));
}

$("#conversations").addEventListener("click", safely(async (event) => {
  const button = event.target.closest("[data-open]");
  if (button) await openRoom(button.dataset.open);
}));
$("#more-conversations").addEventListener("click", safely(() => loadConversations(nextConversations)));

/** Add a conversation the list has not loaded yet (an old one, or one just made). */
async function ensureConversation(id) {
  if (conversations.has(id)) return;
  const {conversation, messages} = await apiJson(`/api/chat/${id}/`);
  remember({...conversation, last_message: messages.at(-1) ?? null});
}

/** Start a direct conversation with someone (or reopen the one there is) and open it. */
async function startDirect(userId) {
  const {conversation_id} = await apiJson(`/api/chat/start/${encodeURIComponent(userId)}/`, {method: "POST"});
  await ensureConversation(conversation_id);
  await openRoom(conversation_id);
}
connectPeople({startDirect});

$("#start-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  await startDirect($("#start-user").value.trim());
  event.target.reset();
}));

// Kept until a group is made: should an answer be lost, pressing Create
// again returns the group already made instead of making a second one.
let groupClientId = null;

$("#group-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  groupClientId ??= newClientId();
  const body = {
    user_ids: $("#group-users").value.split(/[\s,]+/).filter(Boolean),
    title: $("#group-title").value.trim(),
    client_id: groupClientId,
  };
  const group = await apiJson("/api/chat/", {method: "POST", body});
  groupClientId = null;
  remember(group);
  event.target.reset();
  await openRoom(group.id);
}));

// --- The open room ------------------------------------------------------------------

let room = null;

async function openRoom(id) {
  room?.socket?.stop();
  if (room) clearTyping();
  const current = room = {
    id,
    messages: new Map(), // seq -> message: a message shown twice is impossible by construction
    pending: new Map(), // client_id -> {element, frame}: sent, not yet acknowledged
    readBy: new Map(), // user id -> last seq they read
    deliveredTo: new Map(), // user id -> last seq delivered to them (receipts, chat.delivered)
    typing: new Map(), // user id -> {name, timer}
    lastSeq: 0, // newest seq shown: where the socket resumes
    oldestSeq: Infinity,
    readSent: 0,
    changes: new Map(), // client_id -> an edit or delete frame sent, until the message shows it changed
    editing: null,
  };
  const conversation = conversations.get(id);
  $("#room").hidden = false;
  $("#no-room").hidden = true;
  $("#room-title").textContent = titleOf(conversation);
  roomShown(id);
  $("#messages").replaceChildren();
  $("#typing").textContent = "";
  $("#load-older").hidden = true;
  closePins();
  closeScheduled();
  closeGroupManagement();
  renderRoomSafety(conversation);
  showRoomState("connecting");
  stopEditing();
  clearComposer();
  closeThread();
  renderConversations();
  renderMembers();
  showLevel(conversation);
  renderDisappearing();
  input.value = conversation?.draft?.body ?? ""; // what was being written here, on any device

  const page = await apiJson(`/api/chat/${id}/messages/?limit=${MESSAGE_PAGE}`);
  if (room !== current) return;
  page.forEach(showMessage);
  scrollToEnd();
  // Members' positions now; live `chat.read` and `chat.delivered` frames keep them current.
  await loadReceipts(current);
  if (room !== current) return;
  current.socket = new LiveSocket({
    // ?after=: the server first sends every message after the newest one
    // shown, in order, then live ones. Nothing sent between the page load and
    // now, or while the connection was down, is lost; nothing comes twice.
    path: () => `ws/chat/${id}/?token=${session.access}&after=${current.lastSeq}`,
    onOpen: () => {
      // Whatever is still unacknowledged goes again with the same client_id:
      // if the server saved it already it answers with the saved message
      // instead of making a second one.
      resendPending();
      markRead();
    },
    onFrame: roomFrame,
    onState: showRoomState,
  });
}

const ROOM_STATES = {open: "live", connecting: "connecting…", reconnecting: "reconnecting…", refused: "not available"};
function showRoomState(state) {
  $("#room").dataset.state = state;
  $("#room-status").dataset.state = state;
  $("#room-status").textContent = ROOM_STATES[state];
}

function roomFrame(frame) {
  switch (frame.type) {
    case "chat.message": {
      // The sender's own copy is its acknowledgement: it carries the client_id sent.
      const sent = frame.client_id && room.pending.get(frame.client_id);
      if (sent) {
        sent.element.remove();
        room.pending.delete(frame.client_id);
      }
      stopTyping(frame.created_by.id);
      scheduledSent(frame);
      const nearEnd = isNearEnd();
      showMessage(frame);
      if (nearEnd) scrollToEnd();
      const item = conversations.get(room.id);
      if (item) { noteMessage(item, frame); renderConversations(); }
      clearTimeout(room.readTimer);
      room.readTimer = setTimeout(markRead, 200); // once per burst (a catch-up), not per message
      return;
    }
    case "chat.message.updated":
    case "chat.message.deleted":
      for (const [clientId, change] of room.changes) if (change.message_id === frame.id) room.changes.delete(clientId);
      if (room.messages.has(frame.seq)) showMessage(frame);
      return;
    case "chat.reaction": return reactionChanged(frame);
    case "chat.read":
      noteRead(frame.user_id, frame.seq);
      return renderReceipts();
    case "chat.thread.updated": return threadUpdated(frame);
    case "thread.state": return threadState(frame);
    case "chat.delivered": return noteDelivered(frame.positions);
    case "chat.typing": return showTyping(frame.user_id, frame.name);
    case "chat.pinned":
    case "chat.unpinned": return pinFrame(frame);
    case "presence.state": {
      const now = new Set(frame.online);
      for (const user of conversations.get(room.id)?.users ?? []) online.set(user.id, now.has(user.id));
      renderConversations();
      return renderMembers();
    }
    case "presence": return setOnline(frame.user_id, frame.online);
    case "presence.changes": return setOnlineMany(frame);
    case "user.status": return statusChanged(frame);
    case "error": {
      const sent = frame.client_id && room.pending.get(frame.client_id);
      if (sent && frame.code === "throttled") return holdSending(frame.retry_after);
      const change = frame.client_id && room.changes.get(frame.client_id);
      if (change && frame.code === "throttled") return changeLater(frame.client_id, change, frame.retry_after);
      room.changes.delete(frame.client_id);
      if (sent) { // not saved: keep the text, offer to send it again
        sent.failed = true;
        sent.element.classList.add("failed");
        const retry = el("button", {type: "button", "data-action": "retry", class: "link"}, "Retry");
        sent.element.querySelector(".meta").append(retry);
      }
      return notice(errorText(frame));
    }
  }
}

/** An error frame's detail, but said plainly when it is a rate limit. */
function errorText(frame) {
  if (frame.code !== "throttled") return frame.detail;
  const seconds = frame.retry_after ?? 1;
  return `That was a lot at once: wait ${seconds} second${seconds === 1 ? "" : "s"} and try again.`;
}

/**
 * The server refused a message for coming too fast (`throttled`): it stays in
 * the timeline as sending, and it and every message typed meanwhile go again,
 * in order, with their client_ids, once the server accepts more.
 */
function holdSending(seconds = 1) {
  const current = room;
  const wait = Math.max(1, seconds) * 1000;
  notice(`You are sending quickly: your messages wait ${Math.ceil(wait / 1000)} s, then go.`);
  if (current.resendTimer) return;
  current.resendTimer = setTimeout(() => {
    current.resendTimer = null;
    if (room === current) resendPending();
  }, wait);
}

/** An edit or a delete, with a client_id: the error frame of one refused for coming too fast names it. */
function sendChange(change) {
  const clientId = newClientId();
  room.changes.set(clientId, change);
  return room.socket?.send({...change, client_id: clientId}) ?? false;
}

/** A change refused for coming too fast goes again once the server accepts more, rather than being lost. */
function changeLater(clientId, change, seconds = 1) {
  const current = room;
  notice(`You are changing messages quickly: this change waits ${Math.max(1, seconds)} s, then goes.`);
  setTimeout(() => {
    if (room === current && current.changes.has(clientId)) current.socket?.send({...change, client_id: clientId});
  }, Math.max(1, seconds) * 1000);
}

/** Every message not yet acknowledged, again, whole (reply, files) and with its client_id. */
function resendPending() {
  for (const {frame, failed} of room.pending.values()) {
    if (!failed) room.socket?.send(frame);
  }
}

/** Put a message at its place by seq, or replace the one shown with that seq. */
function showMessage(message) {
  if (message.thread_id) return showThreadReply(message); // threads: in their own pane, not the timeline
  // Sending marks everything up to one's own message as read, without a
  // `chat.read` frame: each message tells how far its author has read.
  noteRead(message.created_by.id, message.seq);
  room.messages.set(message.seq, message);
  room.lastSeq = Math.max(room.lastSeq, message.seq);
  room.oldestSeq = Math.min(room.oldestSeq, message.seq);
  const list = $("#messages");
  const element = messageElement(message);
  const shown = list.querySelector(`[data-seq="${message.seq}"]`);
  if (shown) {
    shown.replaceWith(element);
  } else { // before the first later message, or before the lines still sending
    const next = [...list.children].find((li) => !li.dataset.seq || Number(li.dataset.seq) > message.seq);
    list.insertBefore(element, next ?? null);
  }
  $("#load-older").hidden = room.oldestSeq <= 1; // seqs start at 1 and have no gaps
  renderReceipts();
}

/** A change to the conversation ("Bob left"): a notice across the timeline, nobody's bubble, not to edit. */
function systemElement(message) {
  return el("li", {"data-testid": "message", "data-seq": message.seq, "data-id": message.id, class: "message system"},
    el("p", {class: "body"}, message.body),
    el("time", {datetime: message.created_at}, clock(message.created_at)));
}

function messageElement(message) {
  if (message.kind === "system") return systemElement(message);
  const mine = message.created_by.id === session.user.id;
  const classes = `message${mine ? " mine" : ""}${message.deleted ? " deleted" : ""}${message.expired ? " expired" : ""}${mentionsMe(message) ? " mentioned" : ""}`;
  return withSafety(message, withMessageParts(message, withPinAndForward(message, el("li", {"data-testid": "message", "data-seq": message.seq, "data-id": message.id, class: classes},
    el("div", {class: "meta"},
      avatar(message.created_by), el("span", {class: "author"}, message.created_by.name), botBadge(message.created_by), " ",
      el("time", {datetime: message.created_at}, clock(message.created_at)),
      message.edited_at && !message.deleted ? el("span", {class: "edited", "data-testid": "edited"}, " · edited")
        : null,
      message.expires_at ? el("span", {class: "disappears", "data-testid": "disappears",
        title: `Disappears ${new Date(message.expires_at).toLocaleString()}`}, ` · disappears ${clock(message.expires_at)}`)
        : null,
      mine && !message.deleted ? el("span", {class: "actions"},
        el("button", {type: "button", class: "link", "data-action": "edit"}, "Edit"),
        el("button", {type: "button", class: "link", "data-action": "delete"}, "Delete")) : null),
    el("p", {class: "body"}, ...(message.deleted ? [tombstoneText(message)] : bodyWithMentions(message))),
    previewCard(message),
    threadLine(message)))));
}

/** What a tombstone says: expired (a disappearing timer, or retention) or deleted by someone. */
function tombstoneText(message) {
  return message.expired ? "This message expired." : "This message was deleted.";
}

function pendingElement(body) {
  return el("li", {"data-testid": "message", class: "message mine pending"},
    el("div", {class: "meta"},
      el("span", {class: "author"}, session.user.name), " ", el("span", {class: "muted"}, "sending…")),
    el("p", {class: "body"}, body));
}

function noteRead(userId, seq) {
  if (userId !== session.user.id) room.readBy.set(userId, Math.max(seq, room.readBy.get(userId) ?? 0));
}

/** "Seen by …" under the newest message each other member has read (of those they did not write). */
function renderReceipts() {
  for (const receipt of $("#messages").querySelectorAll(".receipt")) receipt.remove();
  const namesBySeq = new Map();
  const members = conversations.get(room.id)?.users ?? [];
  for (const [userId, readSeq] of room.readBy) {
    const member = members.find((user) => user.id === userId);
    if (!member) continue; // they left: what they read is theirs no longer to show
    const seen = [...room.messages.values()].filter((m) => m.seq <= readSeq && m.created_by.id !== userId);
    const seq = Math.max(...seen.map((m) => m.seq));
    if (!Number.isFinite(seq)) continue;
    namesBySeq.set(seq, [...(namesBySeq.get(seq) ?? []), member.name]);
  }
  for (const [seq, names] of namesBySeq) {
    const receipt = el("p", {class: "receipt", "data-testid": "receipt"}, `Seen by ${names.join(", ")}`);
    $(`#messages [data-seq="${seq}"]`)?.append(receipt);
  }
  renderTicks();
}

// --- Delivery and read receipts (docs/protocol.md, "Delivery and read receipts") ----------

/** Every member's delivered and read positions (GET /api/chat/<id>/receipts/, a page at a time). */
async function loadReceipts(current) {
  let url = `/api/chat/${current.id}/receipts/?limit=500`;
  while (url && room === current) {
    const response = await api(url);
    for (const member of await response.json()) {
      current.deliveredTo.set(member.user_id, Math.max(member.delivered_seq, current.deliveredTo.get(member.user_id) ?? 0));
      // null: their read receipts (or yours) are off.
      if (member.last_read_seq !== null && member.user_id !== session.user.id) {
        current.readBy.set(member.user_id, Math.max(member.last_read_seq, current.readBy.get(member.user_id) ?? 0));
      }
    }
    url = response.headers.get("Link")?.match(/<([^>]+)>; rel="next"/)?.[1] ?? null;
  }
  if (room === current) renderReceipts();
}

function noteDelivered(positions) {
  for (const [userId, seq] of Object.entries(positions)) {
    room.deliveredTo.set(userId, Math.max(seq, room.deliveredTo.get(userId) ?? 0));
  }
  renderTicks();
}

/**
 * Ticks on your own messages. Direct: ✓ sent, ✓✓ delivered, ✓✓ in colour read.
 * Group: how many of the others have it delivered and read. Reading implies delivered.
 */
function renderTicks() {
  const conversation = conversations.get(room.id);
  if (!conversation) return;
  const peers = others(conversation).map((user) => user.id);
  // With your read receipts off you are shown no one's reads (nor inferred from their messages).
  const reads = readReceiptsOn() ? room.readBy : new Map();
  for (const item of $("#messages").querySelectorAll(".message.mine[data-seq]")) {
    const seq = Number(item.dataset.seq);
    const read = peers.filter((id) => (reads.get(id) ?? 0) >= seq).length;
    const delivered = peers.filter((id) => Math.max(room.deliveredTo.get(id) ?? 0, reads.get(id) ?? 0) >= seq).length;
    let ticks = item.querySelector(".ticks");
    if (!ticks) {
      ticks = el("span", {class: "ticks", "data-testid": "ticks"});
      item.querySelector(".meta").append(ticks);
    }
    if (conversation.is_direct) {
      ticks.dataset.state = read ? "read" : delivered ? "delivered" : "sent";
      ticks.textContent = read || delivered ? " ✓✓" : " ✓";
      ticks.title = ticks.dataset.state;
    } else {
      ticks.dataset.state = "counts";
      ticks.textContent = ` ✓ delivered ${delivered}/${peers.length} · read ${read}`;
      ticks.title = "";
    }
  }
}

const readReceiptsOn = () => session?.user?.read_receipts !== false;

/** The "Read receipts" switch in the top bar: PATCH /api/auth/me/ {read_receipts}. */
function showReadReceiptsSetting() {
  const toggle = $("#read-receipts");
  toggle.checked = readReceiptsOn();
  apiJson("/api/auth/me/").then((me) => { // the setting may have changed on another device
    saveSession({...session, user: {...session.user, read_receipts: me.read_receipts}});
    toggle.checked = me.read_receipts;
  }).catch(() => {});
  toggle.onchange = safely(async () => {
    const me = await apiJson("/api/auth/me/", {method: "PATCH", body: {read_receipts: toggle.checked}});
    saveSession({...session, user: {...session.user, read_receipts: me.read_receipts}});
    notice(me.read_receipts ? "Read receipts on: others see when you read, and you see theirs."
      : "Read receipts off: others do not see when you read, and you do not see theirs.");
    if (room) renderReceipts();
  });
}

// Statuses (docs/protocol.md, "User status"): as the user JSON had them, then
// as user.status frames change them; an expired one is not shown.
const statuses = new Map();

function statusText(user) {
  const status = statuses.has(user.id) ? statuses.get(user.id) : user.status;
  if (!status || (status.expires_at && new Date(status.expires_at) <= new Date())) return "";
  return [status.emoji, status.text].filter(Boolean).join(" ");
}

function statusChanged(frame) {
  statuses.set(frame.user_id, frame.status);
  renderMembers();
  renderConversations();
}

// Your own status: emoji, text and when it clears itself (PUT /api/auth/me/status/ {text, emoji, expires_at}).
const statusDialog = $("#status-dialog");

$("#set-status").addEventListener("click", () => {
  const mine = statuses.has(session.user.id) ? statuses.get(session.user.id) : session.user.status;
  const shown = mine && !(mine.expires_at && new Date(mine.expires_at) <= new Date());
  $("#status-emoji").value = shown ? mine.emoji ?? "" : "";
  $("#status-text").value = shown ? mine.text ?? "" : "";
  $("#status-until").value = "";
  statusDialog.showModal();
});

async function saveStatus(body) {
  const me = body
    ? await apiJson("/api/auth/me/status/", {method: "PUT", body})
    : await apiJson("/api/auth/me/status/", {method: "DELETE"});
  statuses.set(me.id, me.status ?? null);
  statusDialog.close();
}

$("#status-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const text = $("#status-text").value.trim();
  const emoji = $("#status-emoji").value.trim();
  const seconds = Number($("#status-until").value);
  if (!text && !emoji) return saveStatus(null);
  await saveStatus({text, emoji, expires_at: seconds ? new Date(Date.now() + seconds * 1000).toISOString() : null});
}));
$("#status-clear").addEventListener("click", safely(() => saveStatus(null)));
$("#status-cancel").addEventListener("click", () => statusDialog.close());

function renderMembers() {
  if (!room) return;
  renderGroupPanel();
  const conversation = conversations.get(room.id) ?? {users: []};
  $("#room-members").replaceChildren(...others(conversation).map((user) => {
    const isOnline = online.get(user.id) === true;
    // In a direct chat the title names them already.
    const label = conversation.is_direct ? (isOnline ? "online" : "offline") : user.name;
    const status = statusText(user);
    return el("li", {"data-testid": "member", "data-user-id": user.id, "data-online": String(isOnline)},
      avatar(user), status ? `${label} \u00b7 ${status}` : label, botBadge(user));
  }));
}

function showTyping(userId, name) {
  clearTimeout(room.typing.get(userId)?.timer);
  room.typing.set(userId, {name, timer: setTimeout(() => stopTyping(userId), TYPING_SHOWN)});
  renderTyping();
}

function stopTyping(userId) {
  if (!room) return;
  clearTimeout(room.typing.get(userId)?.timer);
  if (room.typing.delete(userId)) renderTyping();
}

/** The room closes (another opens, or sign-out): its typing notices' timers go with it. */
function clearTyping() {
  for (const {timer} of room.typing.values()) clearTimeout(timer);
  room.typing.clear();
  $("#typing").textContent = "";
}

function renderTyping() {
  const names = [...room.typing.values()].map((typist) => typist.name);
  $("#typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

/** Tell the server (and so the others) how far this person has read, while they can see it. */
function markRead() {
  if (!room?.socket || document.visibilityState !== "visible" || room.lastSeq <= room.readSent) return;
  if (room.socket.send({type: "read", seq: room.lastSeq})) room.readSent = room.lastSeq;
}
document.addEventListener("visibilitychange", markRead);

const scroller = $("#history");
const isNearEnd = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
const scrollToEnd = () => { scroller.scrollTop = scroller.scrollHeight; };

async function loadOlder() {
  if (!room?.messages.size || room.loadingOlder || room.oldestSeq <= 1) return;
  const current = room;
  current.loadingOlder = true;
  try {
    const page = await apiJson(`/api/chat/${current.id}/messages/?before=${current.oldestSeq}&limit=${MESSAGE_PAGE}`);
    if (room !== current) return;
    const fromEnd = scroller.scrollHeight - scroller.scrollTop;
    page.forEach(showMessage);
    scroller.scrollTop = scroller.scrollHeight - fromEnd; // the messages being read stay in view
  } finally {
    current.loadingOlder = false;
  }
}
$("#load-older").addEventListener("click", safely(loadOlder));
scroller.addEventListener("scroll", () => { if (scroller.scrollTop < 40) safely(loadOlder)(); });

// --- Writing -----------------------------------------------------------------------

const input = $("#message-input");
let typingSentAt = 0;

input.addEventListener("input", () => {
  // The server relays one notice per 2 s per person anyway; sending more only spends the rate limit.
  // Changing a sent message is not writing a new one: the others are not told.
  if (!input.value.trim() || room?.editing || Date.now() - typingSentAt < 2000) return;
  if (room?.socket?.send({type: "typing"})) typingSentAt = Date.now();
});

// Drafts (docs/protocol.md, "Drafts"): what is typed is kept for the user's
// other devices a moment after they stop typing; sending clears it on the server.
let draftTimer = null;

input.addEventListener("input", () => {
  clearTimeout(draftTimer);
  const conversationId = room?.id;
  if (!conversationId || room.editing) return;
  draftTimer = setTimeout(safely(async () => {
    const draft = await apiJson(`/api/chat/${conversationId}/draft/`, {method: "PUT", body: {body: input.value}});
    const item = conversations.get(conversationId);
    if (item) item.draft = draft.body ? draft : null;
  }), 800);
});

function draftChanged(item, draft) {
  if (!item) return;
  item.draft = draft;
  // Another device's draft replaces this one's text only while nobody is typing here.
  if (room?.id === item.id && document.activeElement !== input && !room.editing) input.value = draft?.body ?? "";
}

connectScheduled({
  roomId: () => room?.id,
  editing: () => Boolean(room?.editing),
  take: async () => { // the text is scheduled: the composer and its draft are cleared, as a send clears them
    clearTimeout(draftTimer);
    input.value = "";
    const item = conversations.get(room.id);
    if (item) item.draft = null;
    await api(`/api/chat/${room.id}/draft/`, {method: "DELETE"});
  },
});

$("#composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = input.value;
  const fields = room?.editing ? {} : composerFields(); // reply_to, attachment_ids (messages.js)
  if (!room || (!body.trim() && !fields.attachment_ids)) return;
  clearTimeout(draftTimer);
  if (conversations.get(room.id)) conversations.get(room.id).draft = null; // the send clears it on the server
  if (room.editing) {
    const edit = {type: "message.edit", message_id: room.messages.get(room.editing).id, body};
    if (!sendChange(edit)) return notice("Not connected; try again in a moment.");
    stopEditing();
  } else {
    // client_id comes back in the acknowledgement, which is how this pending
    // line finds its saved message, and makes a resend after a reconnect safe.
    const clientId = newClientId();
    const element = pendingElement(body);
    const frame = {type: "message.send", body, client_id: clientId, ...fields};
    room.pending.set(clientId, {element, frame});
    $("#messages").append(element);
    scrollToEnd();
    // If down: sent on reconnect; if held back for a rate limit: sent, in order, when that ends.
    if (!room.resendTimer) room.socket?.send(frame);
    clearComposer();
  }
  input.value = "";
});

$("#messages").addEventListener("click", (event) => {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const item = button.closest("li");
  if (button.dataset.action === "retry") {
    const sent = [...room.pending.values()].find((pending) => pending.element === item);
    sent.failed = false;
    item.classList.remove("failed");
    button.remove();
    room.socket.send(sent.frame);
    return;
  }
  const message = room.messages.get(Number(item.dataset.seq));
  if (button.dataset.action === "delete") {
    const sent = sendChange({type: "message.delete", message_id: message.id});
    if (!sent) notice("Not connected; try again in a moment.");
  } else {
    room.editing = message.seq;
    $("#editing").hidden = false;
    input.value = message.body;
    input.focus();
  }
});

function stopEditing() {
  if (room) room.editing = null;
  $("#editing").hidden = true;
}
$("#cancel-edit").addEventListener("click", () => { stopEditing(); input.value = ""; });
input.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && room?.editing) {
    event.preventDefault(); // this Escape ends the edit, not the open pane
    stopEditing();
    input.value = "";
  }
});

// --- Threads -----------------------------------------------------------------------
// A reply in a thread is a message like any other (same seqs, same socket),
// carrying thread_id: the timeline leaves it out and shows, under its root,
// the root's `thread` summary; the thread pane lists a thread's replies and
// sends new ones with thread_id (docs/protocol.md, "Threads").

let thread = null; // the open thread: {rootSeq, root, replies: Map seq -> message, pending: Map client_id -> element}

/** Under a message of the timeline: its reply count (or a way to start a thread). */
function threadLine(message) {
  if (message.deleted && !message.thread) return null;
  if (message.kind !== "text") return null;
  const summary = message.thread;
  const text = summary
    ? `${summary.reply_count} ${summary.reply_count === 1 ? "reply" : "replies"} · last ${clock(summary.last_reply_at)}`
    : "Reply in thread";
  return el("p", {class: "thread-line"},
    el("button", {type: "button", class: "link", "data-open-thread": message.seq, "data-testid": "thread-line"}, text));
}

/** A thread reply arrived (live, catch-up or a page): the timeline skips it, an open pane shows it. */
function showThreadReply(message) {
  room.lastSeq = Math.max(room.lastSeq, message.seq); // where the socket resumes: thread replies count too
  room.oldestSeq = Math.min(room.oldestSeq, message.seq);
  if (!thread || thread.root.id !== message.thread_id) return;
  const pending = message.client_id && thread.pending.get(message.client_id);
  if (pending) { pending.remove(); thread.pending.delete(message.client_id); }
  thread.replies.set(message.seq, message);
  renderThread();
  markThreadRead();
}

/** chat.thread.updated: the root's new summary, under the root and in the pane. */
function threadUpdated(frame) {
  const root = room.messages.get(frame.seq);
  if (root) showMessage({...root, thread: frame.thread});
  if (thread && thread.root.id === frame.message_id) {
    thread.root = {...thread.root, thread: frame.thread};
    renderThread();
  }
}

/** thread.state: this user read, followed or unfollowed a thread here or on another device. */
function threadState(frame) {
  if (!thread || thread.root.id !== frame.root_id) return;
  thread.following = frame.following;
  renderThread();
}

async function openThread(rootSeq) {
  const root = room.messages.get(rootSeq);
  if (!root) return;
  const current = room;
  const page = await apiJson(`/api/chat/${current.id}/messages/${root.id}/thread/?limit=${MESSAGE_PAGE}`);
  if (room !== current) return;
  thread = {root: page.root, replies: new Map(), pending: new Map(), following: page.following};
  page.replies.forEach((reply) => thread.replies.set(reply.seq, reply));
  $("#thread").hidden = false;
  renderThread();
  markThreadRead();
  $("#thread-input").focus();
}

function closeThread() {
  thread = null;
  $("#thread").hidden = true;
}

function renderThread() {
  const summary = thread.root.thread;
  $("#thread-count").textContent = summary ? `${summary.reply_count} ${summary.reply_count === 1 ? "reply" : "replies"}` : "No replies yet";
  $("#thread-follow").textContent = thread.following ? "Unfollow" : "Follow";
  $("#thread-root").replaceChildren(threadMessageElement(thread.root));
  const replies = [...thread.replies.values()].sort((a, b) => a.seq - b.seq).map(threadMessageElement);
  $("#thread-replies").replaceChildren(...replies, ...thread.pending.values());
}

function threadMessageElement(message) {
  const mine = message.created_by.id === session.user.id;
  return withThreadParts(message, el("li", {"data-testid": "thread-message", "data-seq": message.seq, class: `message${mine ? " mine" : ""}`},
    el("div", {class: "meta"},
      el("span", {class: "author"}, message.created_by.name), " ",
      el("time", {datetime: message.created_at}, clock(message.created_at))),
    el("p", {class: "body"}, message.deleted ? "This message was deleted." : message.body)));
}

function markThreadRead() {
  const last = Math.max(0, ...thread.replies.keys());
  if (!last) return;
  api(`/api/chat/${room.id}/messages/${thread.root.id}/thread/read/`, {method: "POST", body: {seq: last}}).catch(() => {});
}

$("#messages").addEventListener("click", (event) => {
  const button = event.target.closest("[data-open-thread]");
  if (button) safely(openThread)(Number(button.dataset.openThread));
});
$("#thread-close").addEventListener("click", closeThread);
$("#thread-follow").addEventListener("click", safely(async () => {
  const state = await apiJson(`/api/chat/${room.id}/messages/${thread.root.id}/thread/follow/`,
    {method: thread.following ? "DELETE" : "PUT"});
  thread.following = state.following;
  renderThread();
}));
$("#thread-composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = $("#thread-input").value;
  if (!thread || !body.trim()) return;
  const clientId = newClientId();
  if (!room.socket?.send({type: "message.send", body, client_id: clientId, thread_id: thread.root.id})) {
    return notice("Not connected; try again in a moment.");
  }
  thread.pending.set(clientId, pendingElement(body));
  thread.following = true; // replying follows the thread
  renderThread();
  $("#thread-input").value = "";
});

// --- Pinned messages and forwarding (docs/protocol.md) -------------------------------
// Their buttons carry data-message-action (not data-action), so the edit and
// delete handler above never sees them.

/** Whether the user may pin in the open room: a direct conversation's members, a group's owner and admins. */
function mayPin() {
  const conversation = conversations.get(room?.id);
  if (!conversation) return false;
  const me = conversation.users.find((user) => user.id === session.user.id);
  return conversation.is_direct || me?.role === "owner" || me?.role === "admin";
}

/** A message's "Forwarded from" label, pin marker, and Pin/Unpin and Forward buttons. */
function withPinAndForward(message, element) {
  if (message.forwarded) {
    const from = message.forwarded.from_user?.name ?? "someone";
    element.querySelector(".meta").after(el("p", {class: "forwarded", "data-testid": "forwarded"}, `Forwarded from ${from}`));
  }
  if (message.pinned) {
    element.querySelector(".meta").append(el("span", {class: "pinned", "data-testid": "pinned"}, " · pinned"));
  }
  if (message.deleted || message.moderated || message.kind === "system") return element;
  const buttons = el("span", {class: "actions"},
    mayPin() ? el("button", {type: "button", class: "link", "data-message-action": message.pinned ? "unpin" : "pin"},
      message.pinned ? "Unpin" : "Pin") : null,
    el("button", {type: "button", class: "link", "data-message-action": "forward"}, "Forward"));
  element.querySelector(".meta").append(buttons);
  return element;
}

function pinFrame(frame) {
  const shown = room.messages.get(frame.seq);
  if (frame.type === "chat.pinned") {
    if (shown) showMessage(frame.message);
  } else if (shown) {
    showMessage({...shown, pinned: false});
  }
  if (!$("#pins-panel").hidden) safely(loadPins)();
}

async function loadPins() {
  const current = room;
  const pins = await apiJson(`/api/chat/${current.id}/pins/`);
  if (room !== current) return;
  $("#pins").replaceChildren(...pins.map((pin) => el("li", {"data-testid": "pin"},
    el("span", {class: "author"}, pin.message.created_by.name), ": ", pin.message.body || "(attachment)",
    el("span", {class: "muted"}, ` · pinned by ${pin.pinned_by?.name ?? "someone"} ${clock(pin.pinned_at)}`))));
  $("#pins-empty").hidden = pins.length > 0;
}

function closePins() {
  $("#pins-panel").hidden = true;
  $("#pins").replaceChildren();
}

$("#show-pins").addEventListener("click", safely(async () => {
  if (!$("#pins-panel").hidden) return closePins();
  $("#pins-panel").hidden = false;
  await loadPins();
}));

/** The forward dialog: the user's other conversations to choose from, and an optional comment. */
function openForward(message) {
  const choices = [...conversations.values()].sort(byTime);
  $("#forward-to").replaceChildren(...choices.map((conversation) =>
    el("option", {value: conversation.id}, titleOf(conversation))));
  $("#forward-comment").value = "";
  $("#forward-dialog").dataset.messageId = message.id;
  $("#forward-dialog").dataset.conversationId = room.id;
  $("#forward-dialog").showModal();
}

$("#forward-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const dialog = $("#forward-dialog");
  const targets = [...$("#forward-to").selectedOptions].map((option) => option.value);
  if (!targets.length) return notice("Choose a conversation to forward to.");
  const comment = $("#forward-comment").value;
  dialog.close();
  const {results} = await apiJson(
    `/api/chat/${dialog.dataset.conversationId}/messages/${dialog.dataset.messageId}/forward/`,
    {method: "POST", body: {conversation_ids: targets, ...(comment.trim() ? {comment} : {})}});
  const failed = results.filter((result) => !result.ok);
  notice(failed.length
    ? `Not forwarded to ${failed.map((r) => titleOf(conversations.get(r.conversation_id) ?? {users: []})).join(", ")}: ${failed[0].error.detail}`
    : `Forwarded to ${results.length} conversation${results.length > 1 ? "s" : ""}.`);
}));
$("#forward-cancel").addEventListener("click", () => $("#forward-dialog").close());

$("#messages").addEventListener("click", safely(async (event) => {
  const button = event.target.closest("[data-message-action]");
  if (!button || !room) return;
  const message = room.messages.get(Number(button.closest("li").dataset.seq));
  const action = button.dataset.messageAction;
  if (action === "forward") return openForward(message);
  // The room's chat.pinned / chat.unpinned frame updates the message and the list.
  await api(`/api/chat/${room.id}/messages/${message.id}/pin/`, {method: action === "pin" ? "POST" : "DELETE"});
}));

// --- Mentions and notification levels (docs/protocol.md, "Mentions and notification levels") ---------

// <@user-id> markup (what the picker inserts) and @all as a word, as the server reads them.
const MENTION = /<@([0-9a-fA-F-]{32,36})>|(?<![\w@.])@all(?![\w@-])/g;

function memberName(userId, conversationId = room?.id) {
  const users = conversations.get(conversationId)?.users ?? [];
  return users.find((user) => user.id === userId)?.name;
}

const mentionsMe = (message) => !message.deleted && (message.mentions_all || message.mentions?.includes(session.user.id));

/** The body as text nodes and highlighted mentions: markup of a member reads "@Name", of anyone else stays as written. */
function bodyWithMentions(message) {
  const parts = [];
  let at = 0;
  for (const match of message.body.matchAll(MENTION)) {
    const userId = match[1]?.toLowerCase();
    const mentioned = userId ? message.mentions?.includes(userId) : message.mentions_all;
    if (!mentioned) continue;
    parts.push(message.body.slice(at, match.index));
    const label = userId ? `@${memberName(userId, message.conversation_id) ?? "someone"}` : "@all";
    const mine = !userId || userId === session.user.id;
    parts.push(el("span", {class: `mention${mine ? " me" : ""}`, "data-testid": "mention"}, label));
    at = match.index + match[0].length;
  }
  parts.push(message.body.slice(at));
  return parts;
}

/** The body as plain text with mentions as "@Name" (previews, notices). */
function mentionsAsText(message) {
  return bodyWithMentions(message).map((part) => (typeof part === "string" ? part : part.textContent)).join("");
}

function noticeMention(item, message) {
  if (!item || room?.id === item.id) return;
  notice(`${message.created_by.name} mentioned you in ${titleOf(item)}: ${mentionsAsText(message)}`);
}

// Typing "@" and a few letters offers the room's members; picking one puts its markup in the message.
const picker = $("#mention-picker");

function mentionQuery() {
  const before = input.value.slice(0, input.selectionStart ?? input.value.length);
  return /(?:^|\s)@([^\s@<>]*)$/.exec(before)?.[1] ?? null;
}

function renderMentionPicker() {
  const query = room && mentionQuery();
  const conversation = room && conversations.get(room.id);
  if (query === null || !conversation) { picker.hidden = true; return; }
  const wanted = query.toLowerCase();
  const choices = others(conversation).filter((user) => user.name.toLowerCase().includes(wanted)).slice(0, 8);
  if (!conversation.is_direct && "all".startsWith(wanted)) choices.push({id: "all", name: "all (everyone here)"});
  picker.replaceChildren(...choices.map((user) => el("li", {},
    el("button", {type: "button", class: "link", "data-mention": user.id, "data-testid": "mention-choice"}, `@${user.name}`))));
  picker.hidden = !choices.length;
}

function pickMention(userId) {
  const caret = input.selectionStart ?? input.value.length;
  const before = input.value.slice(0, caret).replace(/@[^\s@<>]*$/, "");
  const markup = userId === "all" ? "@all " : `<@${userId}> `;
  input.value = before + markup + input.value.slice(caret);
  input.focus();
  input.selectionStart = input.selectionEnd = before.length + markup.length;
  picker.hidden = true;
}

input.addEventListener("input", renderMentionPicker);
picker.addEventListener("click", (event) => {
  const choice = event.target.closest("[data-mention]");
  if (choice) pickMention(choice.dataset.mention);
});
$("#composer").addEventListener("submit", () => { picker.hidden = true; });

// Which messages of the open conversation this person is told of: all, mentions only, or none.
const levelChooser = $("#notify-level");

function showLevel(conversation) {
  levelChooser.value = conversation?.notification_level ?? "all";
}

function levelChanged(item, level) {
  if (!item) return;
  item.notification_level = level;
  if (room?.id === item.id) showLevel(item);
}

levelChooser.addEventListener("change", safely(async () => {
  if (!room) return;
  const {level} = await apiJson(`/api/chat/${room.id}/notifications/`, {method: "PUT", body: {level: levelChooser.value}});
  levelChanged(conversations.get(room.id), level);
}));

// The messages that mention this person, newest first, a page at a time.
let nextMentions = null;

async function loadMentions(url = "/api/chat/mentions/?limit=20") {
  const response = await api(url);
  const page = await response.json();
  nextMentions = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "")?.[1] ?? null;
  const list = $("#mentions-list");
  if (url.includes("?limit=")) list.replaceChildren();
  list.append(...page.map((message) => el("li", {"data-testid": "mention-item"},
    el("button", {type: "button", class: "link", "data-open-mention": message.conversation_id},
      `${message.created_by.name} · ${clock(message.created_at)}: ${mentionsAsText(message)}`))));
  if (!list.children.length) list.append(el("li", {class: "muted"}, "Nobody has mentioned you yet."));
  $("#more-mentions").hidden = !nextMentions;
}

$("#show-mentions").addEventListener("click", safely(async () => {
  const panel = $("#mentions");
  panel.hidden = !panel.hidden;
  if (!panel.hidden) await loadMentions();
}));
$("#more-mentions").addEventListener("click", safely(() => loadMentions(nextMentions)));
$("#mentions-list").addEventListener("click", safely(async (event) => {
  const button = event.target.closest("[data-open-mention]");
  if (!button) return;
  await ensureConversation(button.dataset.openMention);
  await openRoom(button.dataset.openMention);
}));

// --- Roles and invite links (groups) ------------------------------------------------

const ROLE_ACTIONS = {member: ["admin"], admin: ["member"]}; // what the owner may make each role

const myRole = (conversation) => conversation.users.find((user) => user.id === session.user.id)?.role ?? "member";

/** The open group's members with their roles; the owner changes roles, owner and admins make invite links. */
function renderGroupPanel() {
  const conversation = conversations.get(room.id);
  const panel = $("#group-panel");
  panel.hidden = !conversation || conversation.is_direct;
  if (panel.hidden) return;
  const mine = myRole(conversation);
  $("#group-roles").replaceChildren(...conversation.users.map((user) => {
    const buttons = [];
    if (mine === "owner" && user.id !== session.user.id) {
      for (const role of [...(ROLE_ACTIONS[user.role] ?? []), "owner"]) {
        const label = role === "owner" ? "Make owner" : `Make ${role}`;
        buttons.push(linkButton(label, () => setRole(user.id, role)));
      }
    }
    return el("li", {"data-testid": "group-member", "data-role": user.role},
      user.name, botBadge(user), ` · ${user.role} `, ...buttons, ...memberActions(conversation, user));
  }));
  renderGroupManagement(conversation);
  const manages = mine === "owner" || mine === "admin";
  $("#group-invites").hidden = !manages;
  if (manages && panel.open) loadJoinRequests();
}

async function setRole(userId, role) {
  const conversation = await apiJson(`/api/chat/${room.id}/members/${userId}/`, {method: "PATCH", body: {role}});
  remember(conversation);
  renderMembers();
}

async function loadJoinRequests() {
  const id = room.id;
  const waiting = await apiJson(`/api/chat/${id}/join-requests/`);
  if (room?.id !== id) return;
  $("#join-requests").replaceChildren(...waiting.map(({user}) => el("li", {"data-testid": "join-request"},
    `${user.name} asks to join `,
    linkButton("Let in", () => decideJoin(id, user.id, true)),
    linkButton("Turn away", () => decideJoin(id, user.id, false)))));
}

async function decideJoin(id, userId, approve) {
  if (approve) remember(await apiJson(`/api/chat/${id}/join-requests/${userId}/approve/`, {method: "POST"}));
  else await api(`/api/chat/${id}/join-requests/${userId}/`, {method: "DELETE"});
  renderMembers();
  loadJoinRequests();
}

$("#group-panel").addEventListener("toggle", safely(async () => {
  if (!room || !$("#group-panel").open) return;
  renderGroupPanel();
  const conversation = conversations.get(room.id);
  if (conversation && !conversation.is_direct) await showWebhooks(room.id, ["owner", "admin"].includes(myRole(conversation)));
}));

$("#make-invite").addEventListener("click", safely(async () => {
  const invite = await apiJson(`/api/chat/${room.id}/invites/`, {
    method: "POST", body: {approval: $("#invite-approval").checked},
  });
  // The link others paste into "Join a group with an invite link".
  const url = $("#invite-url");
  url.value = invite.url;
  url.hidden = false;
  url.select();
}));

$("#join-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  // A whole link (…/api/chat/invites/<token>/) or the token alone.
  const text = $("#join-link").value.trim();
  const token = /invites\/([^/]+)\/?$/.exec(text)?.[1] ?? text;
  const {conversation_id, status} = await apiJson(`/api/chat/invites/${encodeURIComponent(token)}/join/`, {method: "POST"});
  event.target.reset();
  if (status === "pending") return notice("Asked to join: an admin of the group will let you in.");
  conversations.delete(conversation_id);
  await ensureConversation(conversation_id);
  await openRoom(conversation_id);
}));

function onJoinRequested(frame) {
  notice(`${frame.user.name} asks to join ${titleOf(conversations.get(frame.conversation_id) ?? {users: []})}`);
  if (room?.id === frame.conversation_id && $("#group-panel").open) loadJoinRequests();
}


// --- Disappearing messages (docs/protocol.md, "Disappearing messages") ------------------

/** The open conversation's timer in its chooser; only a group's owner and admins may change it. */
function renderDisappearing() {
  const conversation = room && conversations.get(room.id);
  if (!conversation) return;
  const chooser = $("#disappearing");
  chooser.value = conversation.disappearing_seconds == null ? "" : String(conversation.disappearing_seconds);
  const me = conversation.users.find((user) => user.id === session.user.id);
  chooser.disabled = !conversation.is_direct && !["owner", "admin"].includes(me?.role);
}

/** A `conversation.updated` frame: keep its timer (and the rest of it), and show it if it is open. */
function disappearingChanged(conversation) {
  if (!conversation || !conversations.has(conversation.id)) return;
  remember(conversation);
  if (room?.id === conversation.id) renderDisappearing();
}

$("#disappearing").addEventListener("change", safely(async (event) => {
  const seconds = event.target.value === "" ? null : Number(event.target.value);
  try {
    remember(await apiJson(`/api/chat/${room.id}/disappearing/`, {method: "PUT", body: {seconds}}));
  } finally {
    renderDisappearing(); // the timer the server has, also when it refused
  }
}));

// --- Managing groups, blocking and muting (groups.js, safety.js) ----------------------

/** The open room is no longer this person's (they left, or were removed): back to the list. */
function closeRoom() {
  room?.socket?.stop();
  room = null;
  closeThread();
  $("#room").hidden = true;
  $("#no-room").hidden = false;
  renderConversations();
}

connectGroups({
  room: () => room && conversations.get(room.id),
  remember: (conversation) => { remember(conversation); renderConversations(); renderMembers(); },
  left: (id) => { conversations.delete(id); if (room?.id === id) closeRoom(); else renderConversations(); },
});

connectSafety({
  room: () => room && conversations.get(room.id),
  refresh: () => { // a block or a mute changed: the list, the room's banner and its messages show it
    renderConversations();
    if (!room) return;
    renderRoomSafety(conversations.get(room.id));
    for (const message of room.messages.values()) showMessage(message);
  },
});

// The network is back: reconnect now rather than at the end of the back-off.
addEventListener("online", () => { notifications?.reconnectNow(); room?.socket?.reconnectNow(); });

// What the modules for reactions, replies, files and search need of this page (context.js).
connectPage({
  room: () => room,
  showMessage,
  openRoom,
  ensureConversation,
  openThread,
  conversationTitle: (id) => titleOf(conversations.get(id) ?? {users: []}),
  asText: mentionsAsText,
  memberName,
});

setUpPush({open: async (id) => { await ensureConversation(id); await openRoom(id); }});

onSessionEnded(signOut);
if (session) start();
