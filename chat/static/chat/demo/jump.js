// Going to a message: open its conversation if another one is open, load the
// history back to it if it is older than what is shown, then scroll it into
// view, highlight it and give it focus (replies' quotes and search results
// lead here). The history loaded is gapless: every message from a little
// before the one wanted up to the oldest one shown, a page at a time, so
// "Load older" carries on from there as before.

import {$} from "./util.js";
import {apiJson} from "./connection.js";
import {page} from "./context.js";

const PAGE = 200; // CHAT_MESSAGE_PAGE_MAX's default
const CONTEXT = 10; // messages shown above the one wanted

/** Load the open room's history back to ``seq`` (and a few before it). */
async function loadBackTo(room, seq) {
  let from = Math.max(0, seq - 1 - CONTEXT);
  const until = room.oldestSeq; // the oldest shown: the pages end below it
  while (page.room() === room && from < until - 1) {
    const batch = await apiJson(`/api/chat/${room.id}/messages/?after=${from}&before=${until}&limit=${PAGE}`);
    if (page.room() !== room) return;
    batch.forEach(page.showMessage);
    if (batch.length < PAGE) return;
    from = batch.at(-1).seq;
  }
}

/** Open the conversation at the message with this seq; false when it is not in the timeline. */
export async function showAt(conversationId, seq) {
  if (page.room()?.id !== conversationId) {
    await page.ensureConversation(conversationId);
    await page.openRoom(conversationId);
  }
  const room = page.room();
  if (room?.id !== conversationId) return false;
  if (seq < room.oldestSeq) await loadBackTo(room, seq);
  const item = $(`#messages [data-seq="${seq}"]`);
  if (!item) return false;
  for (const shown of $("#messages").querySelectorAll(".jumped")) shown.classList.remove("jumped");
  item.classList.add("jumped");
  item.tabIndex = -1; // focusable, so the keyboard is where the eye is
  item.scrollIntoView({block: "center"});
  item.focus({preventScroll: true});
  return true;
}
