// The page's layout and keyboard: which pane shows on a phone (the list or
// the open conversation, one at a time; both side by side on a wider
// screen), the open conversation in the address (#conversation=<id>, so a
// reload reopens it), the unread count in the tab's title, Enter and
// Shift+Enter in the composers, Escape to close what is open, and which
// button Enter presses on the sign-in form.

import {$} from "./util.js";

const TITLE = "Chat";
const HASH = /^#conversation=([0-9a-fA-F-]{32,36})$/;
const narrow = matchMedia("(max-width: 700px)");

// --- Panes -------------------------------------------------------------------------

/** A conversation is open: on a phone it takes the screen; its id goes in the address. */
export function roomShown(id) {
  document.body.dataset.pane = "room";
  history.replaceState(null, "", `${location.pathname}${location.search}#conversation=${id}`);
  if (narrow.matches) $("#back-to-list").focus(); // the list button that had the focus is gone from view
}

/** Back to the list (on a phone the only pane then); the address forgets the conversation. */
export function listShown() {
  document.body.dataset.pane = "list";
  if (location.hash) history.replaceState(null, "", `${location.pathname}${location.search}`);
}

/** The conversation the address names (the one open before a reload), or null. */
export const wantedConversation = () => HASH.exec(location.hash)?.[1]?.toLowerCase() ?? null;

$("#back-to-list").addEventListener("click", () => {
  listShown();
  const active = $("#conversations .active button");
  if (active) active.focus();
});

// --- The tab's title ---------------------------------------------------------------

/** "(3) Chat" while 3 messages wait unread in the loaded conversations, "Chat" when none do. */
export function showUnread(total) {
  document.title = total > 0 ? `(${total}) ${TITLE}` : TITLE;
}

// --- Keyboard ----------------------------------------------------------------------

/** Enter sends, Shift+Enter starts a new line (not while an input method composes a word). */
function enterSends(textarea) {
  textarea.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.defaultPrevented) return;
    event.preventDefault();
    textarea.form.requestSubmit();
  });
}
enterSends($("#message-input"));
enterSends($("#thread-input"));

// Escape closes the innermost open thing; modal dialogs close on Escape by themselves.
const closers = [
  ["#mention-picker", () => { $("#mention-picker").hidden = true; }],
  ["#schedule-picker", () => { $("#schedule-picker").hidden = true; }],
  ["#thread", () => $("#thread-close").click()],
  ["#account", () => $("#close-account").click()],
  ["#scheduled-panel", () => $("#show-scheduled").click()],
  ["#pins-panel", () => $("#show-pins").click()],
  ["#mentions", () => $("#show-mentions").click()],
];

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented || document.querySelector("dialog[open]")) return;
  const open = closers.find(([selector]) => !$(selector).hidden);
  if (open) {
    event.preventDefault();
    open[1]();
  } else if (narrow.matches && document.body.dataset.pane === "room") {
    $("#back-to-list").click();
  }
});

// --- Signing in --------------------------------------------------------------------

// A person who filled in a name means to create an account: Enter then
// registers, and the Register button looks like the one Enter presses.
const authForm = $("#auth-form");
const [loginButton, registerButton] = ["login", "register"].map((value) => authForm.querySelector(`[value=${value}]`));

function showDefaultAction() {
  const registering = authForm.elements.name.value.trim() !== "";
  loginButton.classList.toggle("secondary", registering);
  registerButton.classList.toggle("secondary", !registering);
  $("#auth-hint").textContent = registering
    ? "Enter creates your account (a name is filled in)."
    : "Enter logs in. Fill in a name to create an account instead.";
}

authForm.addEventListener("input", showDefaultAction);
authForm.addEventListener("reset", () => setTimeout(showDefaultAction));
authForm.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.target.tagName !== "INPUT" || event.isComposing) return;
  event.preventDefault();
  authForm.requestSubmit(authForm.elements.name.value.trim() ? registerButton : loginButton);
});
showDefaultAction();
