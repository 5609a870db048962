// Finding people by name (GET /api/auth/users/?q=): search as you type, a
// moment after the typing stops, and act on a person found: message them
// (a direct conversation), put them in the group being made, or, in a
// group's panel, add them to it (groups.js).
//
// The server matches the start of a name (or of a word of it) or a whole
// email address, leaves the caller out, never shows an email, and answers at
// most `limit` people with no further pages: typing more narrows it. Searches
// are rate limited (THROTTLE_USER_SEARCH, 60 a minute): waiting for a pause
// in the typing keeps a fast typist well under it.

import {$, el, linkButton, safely} from "./util.js";
import {apiJson} from "./connection.js";
import {avatar} from "./profile.js";

const TYPING_PAUSE = 300; // ms without a keystroke before asking
const SHOWN = 8;

/**
 * Make ``input`` a person search whose results go in ``list``; ``actions(user)``
 * gives the buttons beside each person found. Returns a function that clears it.
 */
export function personSearch(input, list, actions) {
  let timer = 0;
  let asked = 0; // answers can arrive out of order: only the latest question's is shown

  async function search() {
    const query = input.value.trim();
    const question = ++asked;
    if (!query) return list.replaceChildren();
    let people;
    try {
      people = await apiJson(`/api/auth/users/?q=${encodeURIComponent(query)}&limit=${SHOWN}`);
    } catch (error) {
      if (question === asked) list.replaceChildren(el("li", {class: "muted"}, error.message));
      return;
    }
    if (question !== asked) return;
    list.replaceChildren(...people.map((user) => el("li", {"data-testid": "person", "data-user-id": user.id},
      avatar(user), el("span", {class: "person-name"}, user.name), el("span", {class: "person-actions"}, ...actions(user)))));
    if (!people.length) list.append(el("li", {class: "muted"}, "Nobody by that name or email."));
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(safely(search), TYPING_PAUSE);
  });
  return () => {
    clearTimeout(timer);
    asked += 1;
    input.value = "";
    list.replaceChildren();
  };
}

// --- The sidebar's search: message someone, or pick them for a new group --------------

let page = null; // {startDirect(userId)}: what demo.js lets this module do

/** What the page gives this module: starting (or reopening) a direct conversation. */
export function connectPeople(context) {
  page = context;
}

// The people picked for the new group: their ids go in the group form's
// field (which the form sends as `user_ids`), their names show as chips.
const picked = new Map(); // user id -> name

function renderPicked() {
  $("#group-users").value = [...picked.keys()].join(", ");
  $("#group-picked").replaceChildren(...[...picked].map(([id, name]) => el("li", {"data-testid": "picked"},
    name, linkButton("×", () => { picked.delete(id); renderPicked(); }, {"aria-label": `Leave ${name} out`}))));
}

const clearSearch = personSearch($("#people-search"), $("#people-results"), (user) => [
  linkButton("Message", async () => {
    clearSearch();
    await page.startDirect(user.id);
  }, {"data-testid": "message-person"}),
  linkButton("Add to new group", () => {
    picked.set(user.id, user.name);
    renderPicked();
    $("#group-title").focus();
  }, {"data-testid": "pick-person"}),
]);

// The form typed ids by hand before there was a search: its field stays the truth.
$("#group-users").addEventListener("input", () => {
  picked.clear();
  $("#group-picked").replaceChildren();
});
$("#group-form").addEventListener("reset", () => {
  picked.clear();
  $("#group-picked").replaceChildren();
  clearSearch();
});
