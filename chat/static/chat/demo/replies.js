// Replies (docs/protocol.md, `reply_to` on "message.send" and on the message
// JSON): "Reply" on a message puts "Replying to …" above the composer, and the
// next message sent carries `reply_to` (its id). Every message that answers
// another shows a quote of it (the server sends its author and first 140
// characters, or that it was deleted); pressing the quote, by click or
// keyboard, goes to the message answered (jump.js), loading history if needed.

import {$, el, safely} from "./util.js";
import {page} from "./context.js";
import {showAt} from "./jump.js";

let replyingTo = null; // the message the next one answers, while "Replying to" shows

const banner = $("#replying");

// The quote's body is the answered message's text as written: mention markup reads as "@Name" here too.
const MENTION_MARKUP = /<@([0-9a-fA-F-]{32,36})>/g;

function quoteText(quoted) {
  if (quoted.deleted || quoted.moderated) return "a message that was deleted";
  const body = quoted.body.replace(MENTION_MARKUP, (markup, id) => `@${page.memberName(id.toLowerCase()) ?? "someone"}`);
  return `${quoted.created_by?.name ?? "someone"}: ${body || "(attachment)"}`;
}

/** Above a reply's body: what it answers, as a button that goes there. */
export function replyQuote(message) {
  const quoted = message.reply_to;
  if (!quoted || message.deleted || message.moderated) return null;
  return el("button", {type: "button", class: "reply-quote", "data-reply-seq": quoted.seq, "data-testid": "reply-quote",
    title: "Go to the message it answers"}, el("span", {class: "muted"}, "↩ "), quoteText(quoted));
}

/** A "Reply" button for a message one may answer (not a tombstone, a system message or a thread reply). */
export function replyButton(message) {
  if (message.deleted || message.moderated || message.kind !== "text" || message.thread_id) return null;
  return el("button", {type: "button", class: "link", "data-reply": "", "data-testid": "reply"}, "Reply");
}

export function startReply(message) {
  replyingTo = message;
  $("#replying-to").textContent = quoteText(message);
  banner.hidden = false;
  $("#message-input").focus();
}

export function stopReply() {
  replyingTo = null;
  banner.hidden = true;
}

/** What the next message.send adds: `reply_to`, when the person chose a message to answer. */
export const replyFields = () => (replyingTo ? {reply_to: replyingTo.id} : {});

$("#messages").addEventListener("click", safely(async (event) => {
  const room = page.room();
  const button = event.target.closest("[data-reply], [data-reply-seq]");
  if (!button || !room) return;
  if (button.hasAttribute("data-reply")) {
    const message = room.messages.get(Number(button.closest("li").dataset.seq));
    if (message) startReply(message);
    return;
  }
  await showAt(room.id, Number(button.dataset.replySeq));
}));
$("#cancel-reply").addEventListener("click", stopReply);
$("#message-input").addEventListener("keydown", (event) => {
  if (event.key === "Escape" && replyingTo) stopReply();
});
