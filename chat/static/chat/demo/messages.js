// What a message shows and carries besides its text, gathered for demo.js:
// the quote of the message it answers (replies.js), its files
// (attachments.js), its reactions (reactions.js), and, for the composer, the
// `reply_to` and `attachment_ids` of the next message.send. Search
// (search.js) needs nothing from demo.js but the page context (context.js).

import {attachmentFields, attachmentList, clearAttachments} from "./attachments.js";
import {reactionBar} from "./reactions.js";
import {replyButton, replyFields, replyQuote, stopReply} from "./replies.js";
import "./search.js";

export {connectPage} from "./context.js";
export {reactionChanged} from "./reactions.js";

/** A message element (from demo.js) with its quote, files, reactions and "Reply" button added. */
export function withMessageParts(message, element) {
  const meta = element.querySelector(".meta");
  const quote = replyQuote(message);
  if (quote) meta.after(quote);
  element.querySelector(".body").after(...[attachmentList(message), reactionBar(message)].filter(Boolean));
  const reply = replyButton(message);
  if (reply) {
    const actions = meta.querySelector(".actions") ?? meta.appendChild(document.createElement("span"));
    actions.className = "actions";
    actions.prepend(reply);
  }
  return element;
}

/** A message of the thread pane (from demo.js) with its files; reactions and replies are the timeline's. */
export function withThreadParts(message, element) {
  const files = attachmentList(message);
  if (files) element.querySelector(".body").after(files);
  return element;
}

/** The fields the next message.send adds to its body and client_id. */
export const composerFields = () => ({...replyFields(), ...attachmentFields()});

/** The message went, or another room opened: no reply chosen, no files waiting. */
export function clearComposer() {
  stopReply();
  clearAttachments();
}
