// Push notifications in the demo (docs/push.md, "For clients"): the
// Notifications button subscribes this browser with the server's VAPID key
// (GET /api/devices/vapid/) and registers the subscription (POST
// /api/devices/); pressing it again, or logging out, deletes the device
// (DELETE /api/devices/<id>/) and ends the subscription. The server pushes
// only to members with no socket open, so a notification comes once this
// page is closed (or offline). The service worker (sw.js, served at
// /demo/sw.js) shows each push and, when one is clicked, has this page open
// its conversation, or opens /demo/?conversation=<id>.

import {$, notice, safely} from "./util.js";
import {api, apiJson} from "./connection.js";

const WORKER = "/demo/sw.js";
const SCOPE = "/demo/";
const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
const button = $("#push-toggle");

let openConversation = async () => {};
let registration = null;
let vapidKey = null;

/** Once, at load: how to open a conversation, for a clicked notification. */
export function setUpPush({open}) {
  openConversation = open;
  if (!supported) return;
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "open-conversation") safely(openConversation)(event.data.conversation_id);
  });
  navigator.serviceWorker.startMessages();
  button.addEventListener("click", safely(toggle));
}

/** After signing in: the conversation a notification asked for, and the button when the server pushes. */
export async function pushStarted() {
  const params = new URLSearchParams(location.search);
  const wanted = params.get("conversation");
  if (wanted) {
    params.delete("conversation");
    history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}`);
    await openConversation(wanted);
  }
  if (!supported) return;
  ({public_key: vapidKey} = await apiJson("/api/devices/vapid/"));
  if (!vapidKey) return; // this server sends no Web Push
  registration = await navigator.serviceWorker.register(WORKER, {scope: SCOPE});
  button.hidden = false;
  showState(Boolean(await registeredDevice()));
}

/** Before logging out, while the token still works: this browser's pushes stop. */
export async function pushSignOut() {
  button.hidden = true;
  if (!registration) return;
  await turnOff().catch(() => {}); // logging out goes on whatever happened
  registration = null;
}

function showState(on) {
  button.dataset.state = on ? "on" : "off";
  button.textContent = on ? "Notifications on" : "Notifications off";
  button.title = on ? "Push notifications for this browser; press to stop them" : "Get push notifications in this browser";
}

/** This browser's subscription and the device it is registered as for this user (null when not). */
async function registeredDevice() {
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return null;
  const devices = await apiJson("/api/devices/");
  const device = devices.find((item) => item.endpoint === subscription.endpoint);
  return device ? {device, subscription} : null;
}

async function toggle() {
  button.disabled = true;
  try {
    if (button.dataset.state === "on") {
      await turnOff();
      showState(false);
    } else {
      showState(await turnOn());
    }
  } finally {
    button.disabled = false;
  }
}

async function turnOn() {
  if (await Notification.requestPermission() !== "granted") {
    notice("This browser blocks notifications from this page; allow them in its site settings.");
    return false;
  }
  const subscription = await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: vapidKey});
  const {endpoint, keys} = subscription.toJSON();
  // Registering an endpoint again answers 200 with the same device: it is now this user's.
  await apiJson("/api/devices/", {method: "POST", body: {kind: "webpush", endpoint, keys}});
  notice("Notifications are on: messages that come while this page is closed show up as notifications.");
  return true;
}

async function turnOff() {
  const registered = await registeredDevice();
  if (registered) await api(`/api/devices/${registered.device.id}/`, {method: "DELETE"});
  await (registered?.subscription ?? await registration.pushManager.getSubscription())?.unsubscribe();
}
