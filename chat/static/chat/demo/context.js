// What the page (demo.js) lends the modules for messages (reactions.js,
// replies.js, attachments.js, search.js, jump.js): the open room and the few
// functions that draw it. demo.js fills it once, at load; the modules read it
// when a person acts, so none of them imports demo.js.

export const page = {
  room: () => null, // the open room: {id, messages: Map seq -> message, oldestSeq, socket, …}
  showMessage: () => {}, // draw (or redraw) a message of the open room at its seq
  openRoom: async () => {}, // open a conversation: its latest page, then its socket
  ensureConversation: async () => {}, // add a conversation the list has not loaded
  openThread: async () => {}, // open the thread pane of a root message shown in the room
  conversationTitle: () => "", // a conversation's title, as the list shows it
  asText: (message) => message.body, // a message's body as text, mentions as "@Name"
  memberName: () => undefined, // the name of a member of the open conversation, by id
};

export function connectPage(parts) {
  Object.assign(page, parts);
}

/** Send a frame on the open room's socket; false (and a notice from the caller) when it is down. */
export const sendOnRoom = (frame) => Boolean(page.room()?.socket?.send(frame));
