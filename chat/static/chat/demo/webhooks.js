// A group's outgoing webhooks (docs/webhooks.md), for its owner and admins:
// GET /api/webhooks/?conversation_id= lists them, POST adds one and answers
// its signing secret, this once (POST …/secret/ rotates it, again shown
// once), PATCH {active} pauses and resumes, DELETE removes, and
// GET …/deliveries/ is the recent attempts: what a person setting up an
// integration checks first when nothing arrives.

import {$, clock, el, linkButton, safely} from "./util.js";
import {api, apiJson} from "./connection.js";

export const WEBHOOK_EVENTS = ["message.created", "message.edited", "message.deleted", "member.joined", "member.left"];

let conversationId = null;

/** Show (and load) the open group's webhooks, or hide them from those who do not manage it. */
export async function showWebhooks(id, manages) {
  $("#group-webhooks").hidden = !manages;
  if (id !== conversationId) $("#webhook-secret").hidden = true; // a secret is never shown in another group
  conversationId = id;
  if (manages) await loadWebhooks();
}

async function loadWebhooks() {
  const id = conversationId;
  const hooks = await apiJson(`/api/webhooks/?conversation_id=${id}&limit=100`);
  if (id !== conversationId) return;
  $("#webhooks").replaceChildren(...hooks.map(webhookItem));
}

function webhookItem(hook) {
  const deliveries = el("ol", {class: "deliveries", "data-testid": "deliveries", hidden: true});
  const item = el("li", {"data-testid": "webhook", "data-id": hook.id, "data-active": String(hook.active)},
    el("code", {}, hook.url), " ",
    el("span", {class: "muted"}, `${hook.events.join(", ")} · ${hook.active ? "active" : "paused"}`), " ",
    linkButton(hook.active ? "Pause" : "Resume", () => change(hook.id, {method: "PATCH", body: {active: !hook.active}})),
    linkButton("New secret", async () => showSecret(await apiJson(`/api/webhooks/${hook.id}/secret/`, {method: "POST"}))),
    linkButton("Deliveries", () => loadDeliveries(hook.id, deliveries)),
    linkButton("Delete", () => confirm(`Stop sending this group's events to ${hook.url}?`) && change(hook.id, {method: "DELETE"})),
    deliveries);
  return item;
}

async function change(id, request) {
  await api(`/api/webhooks/${id}/`, request);
  await loadWebhooks();
}

/** The secret receivers check signatures with: in the answer to a creation or a rotation, and nowhere else. */
function showSecret(hook) {
  $("#webhook-secret-value").value = hook.secret;
  $("#webhook-secret").hidden = false;
  $("#webhook-secret-value").select();
}

async function loadDeliveries(id, list) {
  const rows = await apiJson(`/api/webhooks/${id}/deliveries/`);
  list.replaceChildren(...rows.map((row) => el("li", {"data-testid": "delivery", "data-delivered": String(row.delivered)},
    `${clock(row.created_at)} ${row.event} · try ${row.attempt} · `,
    row.delivered ? `delivered (${row.status_code}, ${row.duration_ms} ms)` : `not delivered: ${row.error}`)));
  if (!rows.length) list.append(el("li", {class: "muted"}, "Nothing sent yet."));
  list.hidden = false;
}

$("#webhook-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const events = WEBHOOK_EVENTS.filter((name) => $(`#webhook-form [value="${name}"]`).checked);
  if (!events.length) throw new Error("Choose at least one event to send.");
  const hook = await apiJson("/api/webhooks/", {method: "POST",
    body: {url: $("#webhook-url").value.trim(), events, conversation_id: conversationId}});
  $("#webhook-url").value = "";
  showSecret(hook);
  await loadWebhooks();
}));
