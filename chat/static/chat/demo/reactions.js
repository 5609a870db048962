// Reactions (docs/protocol.md, "reaction.add and reaction.remove" and
// "chat.reaction"): under each message its emoji with their counts; pressing
// one adds yours or takes it back, "React" offers a few to add. Sent on the
// room's socket; every member's page then gets `chat.reaction` with the
// message's whole list, which replaces the one shown. Reactions are not seq'd:
// after a reconnect the messages of the catch-up carry the current lists.

import {$, el, notice} from "./util.js";
import {session} from "./connection.js";
import {page, sendOnRoom} from "./context.js";

// Any single emoji is accepted; these are the ones offered.
const CHOICES = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

// `user_ids` lists the first CHAT_REACTION_USERS_SHOWN (20) who reacted, so
// past that many a reaction of yours may not show as yours; pressing it adds
// it again, which the server takes as a no-op.
const mine = (reaction) => reaction.user_ids.includes(session.user.id);

/** The message's reactions and a "React" button (none for tombstones and system messages). */
export function reactionBar(message) {
  if (message.deleted || message.moderated || message.kind === "system") return null;
  const chips = (message.reactions ?? []).map((reaction) => el("button", {
    type: "button", class: "reaction", "data-react": reaction.emoji, "data-testid": "reaction",
    "aria-pressed": String(mine(reaction)),
    title: mine(reaction) ? "Take your reaction back" : "React with this too",
  }, `${reaction.emoji} ${reaction.count}`));
  return el("div", {class: "reactions"}, ...chips,
    el("button", {type: "button", class: "link react-open", "data-react-open": "", "aria-expanded": "false",
      "data-testid": "react"}, "React"));
}

/** The small row of emoji to choose from, under the message's "React" button. */
function toggleChoices(button, focus = true) {
  const open = button.parentElement.querySelector(".reaction-choices");
  if (open) {
    open.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  button.setAttribute("aria-expanded", "true");
  button.after(el("span", {class: "reaction-choices", role: "group", "aria-label": "Add a reaction"},
    ...CHOICES.map((emoji) => el("button", {type: "button", class: "link", "data-react-add": emoji,
      "data-testid": "reaction-choice", "aria-label": `React with ${emoji}`}, emoji))));
  if (focus) button.nextElementSibling.querySelector("button").focus();
}

function react(message, emoji, add) {
  const frame = {type: add ? "reaction.add" : "reaction.remove", message_id: message.id, emoji};
  if (!sendOnRoom(frame)) notice("Not connected; try again in a moment.");
}

$("#messages").addEventListener("click", (event) => {
  const button = event.target.closest("[data-react], [data-react-add], [data-react-open]");
  const room = page.room();
  if (!button || !room) return;
  if (button.hasAttribute("data-react-open")) return toggleChoices(button);
  const message = room.messages.get(Number(button.closest("li").dataset.seq));
  if (!message) return;
  if (button.dataset.reactAdd) {
    button.closest(".reaction-choices").remove();
    const shown = message.reactions?.find((reaction) => reaction.emoji === button.dataset.reactAdd);
    if (!shown || !mine(shown)) react(message, button.dataset.reactAdd, true);
    return;
  }
  // The server compares emoji without their variation selector (❤ and ❤️ are one):
  // sending back the emoji as it listed it always names the same reaction.
  const reaction = message.reactions.find((item) => item.emoji === button.dataset.react);
  react(message, reaction.emoji, !mine(reaction));
});

/** `chat.reaction`: the message's list as it is now replaces the one shown. */
export function reactionChanged(frame) {
  const room = page.room();
  const shown = room?.messages.get(frame.seq);
  if (!shown || shown.id !== frame.message_id) return;
  // The message is drawn anew: emoji choices someone has open there stay open.
  const choosing = Boolean($(`#messages [data-seq="${frame.seq}"] .reaction-choices`));
  const focused = document.activeElement?.closest(`#messages [data-seq="${frame.seq}"]`) ? document.activeElement : null;
  page.showMessage({...shown, reactions: frame.reactions});
  const drawn = $(`#messages [data-seq="${frame.seq}"]`);
  if (choosing) toggleChoices(drawn.querySelector("[data-react-open]"), false);
  // Keep the keyboard where it was: on the same emoji of the new element.
  for (const attribute of ["data-react", "data-react-add", "data-react-open"]) {
    if (focused?.hasAttribute(attribute)) {
      drawn.querySelector(`[${attribute}="${CSS.escape(focused.getAttribute(attribute))}"]`)?.focus();
    }
  }
}
