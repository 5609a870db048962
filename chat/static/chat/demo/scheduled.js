// Scheduled messages (docs/protocol.md, "Scheduled messages"): "Later" in the
// composer sends what was typed at a chosen time (POST /api/chat/<id>/scheduled/);
// the "Scheduled" list shows the open conversation's waiting ones, to edit
// (PATCH /api/chat/scheduled/<id>/) or cancel (DELETE) before their time, and
// the ones that could not be sent and why. The server sends each one at its
// time through the one send path: the room gets an ordinary `chat.message`
// (client_id `scheduled:<id>`). One that is refused then (the author left,
// a block) becomes `failed`, and the author's notifications sockets get
// `scheduled.failed`.

import {$, el, linkButton, notice, safely, when} from "./util.js";
import {api, apiJson} from "./connection.js";

const panel = $("#scheduled-panel");
let composer = null; // {roomId(), editing(), take(): the typed text, cleared with its draft}

/** What the page gives this module: the open room and the composer. */
export function connectScheduled(context) {
  composer = context;
}

/** A datetime-local value (the reader's own time, to the minute) for a Date. */
const localValue = (date) => new Date(date - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

$("#send-later").addEventListener("click", () => {
  const picker = $("#schedule-picker");
  picker.hidden = !picker.hidden;
  if (picker.hidden) return;
  $("#schedule-at").value = localValue(new Date(Date.now() + 60 * 60_000));
  $("#schedule-at").min = localValue(new Date());
  $("#schedule-at").focus();
});
$("#schedule-cancel").addEventListener("click", () => { $("#schedule-picker").hidden = true; });

$("#schedule-confirm").addEventListener("click", safely(async () => {
  const roomId = composer.roomId();
  const body = $("#message-input").value;
  if (!roomId || composer.editing()) return;
  if (!body.trim()) return notice("Write the message first, then choose when it goes.");
  const sendAt = new Date($("#schedule-at").value);
  if (Number.isNaN(sendAt.getTime())) return notice("Choose a day and a time.");
  await apiJson(`/api/chat/${roomId}/scheduled/`, {method: "POST", body: {body, send_at: sendAt.toISOString()}});
  $("#schedule-picker").hidden = true;
  await composer.take();
  notice(`Scheduled for ${when(sendAt.toISOString())}.`);
  if (!panel.hidden) await loadScheduled();
}));

/** The open conversation's scheduled messages that wait or failed (sent and cancelled ones are history). */
async function loadScheduled() {
  const roomId = composer.roomId();
  const rows = (await apiJson(`/api/chat/${roomId}/scheduled/?limit=100`))
    .filter((row) => row.state === "pending" || row.state === "failed")
    .sort((a, b) => Date.parse(a.send_at) - Date.parse(b.send_at));
  if (composer.roomId() !== roomId) return;
  $("#scheduled").replaceChildren(...rows.map(scheduledItem));
  $("#scheduled-empty").hidden = rows.length > 0;
}

function scheduledItem(row) {
  const failed = row.state === "failed";
  return el("li", {"data-testid": "scheduled", "data-id": row.id, "data-state": row.state, class: failed ? "failed" : ""},
    el("time", {datetime: row.send_at}, when(row.send_at)), " ",
    el("span", {class: "scheduled-body"}, row.body), " ",
    failed
      ? el("span", {class: "error", "data-testid": "scheduled-failure"}, `Not sent: ${row.failure?.detail ?? "refused"}`)
      : el("span", {class: "actions"},
        linkButton("Edit", (event) => editItem(event.target.closest("li"), row)),
        linkButton("Cancel", () => cancelScheduled(row.id))));
}

/** Edit in place: the text and the time, saved with one PATCH while it still waits. */
function editItem(item, row) {
  const text = el("input", {value: row.body, maxlength: "4000", "aria-label": "Text", "data-testid": "scheduled-text"});
  const at = el("input", {type: "datetime-local", value: localValue(new Date(row.send_at)), "aria-label": "Send at"});
  item.replaceChildren(el("div", {class: "row"}, text, at,
    linkButton("Save", async () => {
      await apiJson(`/api/chat/scheduled/${row.id}/`, {method: "PATCH",
        body: {body: text.value, send_at: new Date(at.value).toISOString()}});
      await loadScheduled();
    }),
    linkButton("Back", loadScheduled)));
  text.focus();
}

async function cancelScheduled(id) {
  await api(`/api/chat/scheduled/${id}/`, {method: "DELETE"});
  await loadScheduled();
}

$("#show-scheduled").addEventListener("click", safely(async () => {
  panel.hidden = !panel.hidden;
  if (!panel.hidden) await loadScheduled();
}));

/** Another room opened: its list is another. */
export function closeScheduled() {
  panel.hidden = true;
  $("#schedule-picker").hidden = true;
  $("#scheduled").replaceChildren();
}

/** `scheduled.failed`: tell the person, and show it in the list if that conversation's is open. */
export function scheduledFailed(frame, title) {
  const {scheduled} = frame;
  notice(`Your scheduled message to ${title} was not sent: ${scheduled.failure?.detail ?? "it was refused"}`);
  if (!panel.hidden && composer.roomId() === scheduled.conversation_id) safely(loadScheduled)();
}

/** A scheduled message went out as a chat.message: it leaves the list. */
export function scheduledSent(message) {
  if (!panel.hidden && message.client_id?.startsWith("scheduled:")) safely(loadScheduled)();
}
