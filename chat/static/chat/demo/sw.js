// The demo client's service worker, served at /demo/sw.js (chat.pages) so
// that its scope is the page's, /demo/. It does two things (docs/push.md):
//
// - a push (the JSON of docs/push.md, "What a push says") becomes a
//   notification, one per conversation: a newer push replaces the older one;
// - clicking the notification opens /demo/ on that conversation: an open
//   demo page is told to open it and is focused, else a new one is opened
//   with ?conversation=<id>.
//
// It caches nothing and handles no fetch: the page works as it does without it.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  // A browser must show something for every push (userVisibleOnly): an
  // unreadable one says only that there is something new.
  let push = {};
  try {
    push = event.data ? event.data.json() : {};
  } catch {
    push = {};
  }
  event.waitUntil(showPush(push));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openConversation(event.notification.data?.conversation_id));
});

/** The notification a push shows: the group's title or the sender's name, and what was written. */
function notificationOf(push) {
  const sender = push.sender_name || "Someone";
  const text = push.body || (push.attachments ? `${push.attachments} attachment(s)` : "New message");
  if (push.type !== "message" || !push.conversation_id) {
    return {title: "Chat demo", options: {body: "Something new is waiting.", data: {}}};
  }
  const title = push.conversation_title || sender;
  return {
    title: push.mentioned ? `${title} (mentions you)` : title,
    options: {
      body: push.conversation_title ? `${sender}: ${text}` : text,
      tag: `conversation-${push.conversation_id}`,
      renotify: true,
      data: {conversation_id: push.conversation_id, seq: push.seq},
    },
  };
}

function showPush(push) {
  const {title, options} = notificationOf(push);
  return self.registration.showNotification(title, options);
}

/** Shows the conversation in a demo page: the one open (told through a message), else a new one. */
async function openConversation(conversationId) {
  const scope = new URL(self.registration.scope);
  const pages = await self.clients.matchAll({type: "window", includeUncontrolled: true});
  const open = pages.find((page) => new URL(page.url).pathname.startsWith(scope.pathname));
  if (open) {
    if (conversationId) open.postMessage({type: "open-conversation", conversation_id: conversationId});
    // Focusing needs the click's permission; without it the page has still opened the conversation.
    return open.focus().catch(() => open);
  }
  const url = new URL(scope);
  if (conversationId) url.searchParams.set("conversation", conversationId);
  return self.clients.openWindow(url.href);
}
