// Message search (docs/search.md): the sidebar's search box asks
// GET /api/chat/search/?q= (every conversation one is in) or, with "this
// conversation only", GET /api/chat/<id>/messages/?q=. Results come best
// first, a page at a time (the next page's address in the Link header).
// Choosing one opens its conversation at that message, loading the history
// back to it (jump.js); a reply in a thread opens that thread beside it.

import {$, clock, el, safely} from "./util.js";
import {api, apiJson} from "./connection.js";
import {page} from "./context.js";
import {showAt} from "./jump.js";

const LIMIT = 20;
const results = $("#search-results");
let nextPage = null;
const found = new Map(); // message id -> message, for the results shown

let searched = null; // the words of the query shown, to mark in the results

/** The words a query looks for: not `or`, not an excluded `-word`, quotes dropped. */
function wordsOf(q) {
  return q.split(/\s+/).filter((word) => word && !word.startsWith("-") && word.toLowerCase() !== "or")
    .map((word) => word.replace(/"/g, "")).filter(Boolean);
}

/** The text with the searched words in <mark> (as elements, never as HTML). */
function marked(text) {
  if (!searched.length) return [text];
  const pattern = new RegExp(`(${searched.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "gi");
  return text.split(pattern).map((part, index) => (index % 2 ? el("mark", {}, part) : part));
}

function resultItem(message) {
  found.set(message.id, message);
  return el("li", {"data-testid": "search-result"},
    el("button", {type: "button", class: "link", "data-found": message.id},
      el("span", {class: "muted"}, `${page.conversationTitle(message.conversation_id)} · ${message.created_by.name} · ${clock(message.created_at)}`),
      el("span", {class: "search-body"}, ...marked(page.asText(message) || "(attachment)"))));
}

async function search(address, fresh) {
  const response = await api(address);
  const messages = await response.json();
  // A result may be in a conversation the list has not loaded (an old one): fetch those, for their titles.
  await Promise.all([...new Set(messages.map((message) => message.conversation_id))].map(page.ensureConversation));
  nextPage = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "")?.[1] ?? null;
  if (fresh) {
    found.clear();
    results.replaceChildren();
  }
  results.append(...messages.map(resultItem));
  if (!results.children.length) results.append(el("li", {class: "muted", "data-testid": "search-empty"}, "No message matches."));
  $("#search-more").hidden = !nextPage;
  $("#search-panel").hidden = false;
}

$("#search-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const q = $("#search-q").value.trim();
  if (!q) return closeSearch();
  searched = wordsOf(q);
  const here = $("#search-here").checked && page.room();
  const query = `q=${encodeURIComponent(q)}&limit=${LIMIT}`;
  await search(here ? `/api/chat/${here.id}/messages/?${query}` : `/api/chat/search/?${query}`, true);
}));
$("#search-more").addEventListener("click", safely(() => search(nextPage, false)));
$("#search-close").addEventListener("click", () => closeSearch());

function closeSearch() {
  $("#search-panel").hidden = true;
  results.replaceChildren();
  found.clear();
}

results.addEventListener("click", safely(async (event) => {
  const message = found.get(event.target.closest("[data-found]")?.dataset.found);
  if (!message) return;
  if (!message.thread_id) {
    await showAt(message.conversation_id, message.seq);
    return;
  }
  // A reply in a thread is not in the timeline: go to its root, and open the thread.
  const {root} = await apiJson(`/api/chat/${message.conversation_id}/messages/${message.thread_id}/thread/?limit=1`);
  if (await showAt(message.conversation_id, root.seq)) await page.openThread(root.seq);
}));
