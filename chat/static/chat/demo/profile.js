// Your profile (the Account panel) and everyone's avatar.
//
// PATCH /api/auth/me/ changes the name (JSON) or the avatar (multipart
// `avatar`, an image of at most AVATAR_MAX_SIZE bytes; `{"avatar": null}`
// removes it) and answers the whole account. Every user JSON carries
// `avatar_url`: an absolute URL, or "" without one. Nothing on the sockets
// says that someone changed theirs: what comes after (a message, a list)
// carries the new one.
//
// The page's policy loads images only from its own origin (img-src 'self'
// data:). The server serves avatars there (MEDIA_URL) unless a CDN or
// PUBLIC_BASE_URL puts them elsewhere; one from elsewhere is shown as the
// name's initial rather than as a blocked image.

import {$, el, notice, safely} from "./util.js";
import {api, apiJson, renewToken, saveSession, session} from "./connection.js";

const sameOrigin = (url) => {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
};

/** A small round picture of ``user``: their avatar, or the initial of their name. */
export function avatar(user, size = "small") {
  if (user?.avatar_url && sameOrigin(user.avatar_url)) {
    return el("img", {class: `avatar ${size}`, src: user.avatar_url, alt: "", "data-testid": "avatar"});
  }
  const initial = [...(user?.name || "?").trim()][0]?.toUpperCase() ?? "?";
  return el("span", {class: `avatar ${size} initial`, "aria-hidden": "true", "data-testid": "avatar-initial"}, initial);
}

/** The account as the server has it now, kept in the session and in the top bar. */
function keep(me) {
  saveSession({...session, user: {...session.user, ...me}});
  $("#my-name").textContent = me.name;
  $("#my-avatar").replaceChildren(avatar(me));
  showProfile();
}

/** The profile form filled from the session. */
export function showProfile() {
  const me = session.user;
  $("#profile-name").value = me.name ?? "";
  $("#profile-avatar").replaceChildren(avatar(me, "large"));
  $("#avatar-remove").hidden = !me.avatar_url;
}

$("#profile-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  keep(await apiJson("/api/auth/me/", {method: "PATCH", body: {name: $("#profile-name").value}}));
  notice("Your name is saved: what you send from now on carries it.");
}));

/**
 * A multipart PATCH: api() speaks JSON, so this one sets no Content-Type
 * (the browser writes the multipart boundary) and retries once after a
 * renewal, as api() does.
 */
async function uploadAvatar(file, retried = false) {
  const form = new FormData();
  form.append("avatar", file);
  const response = await fetch("/api/auth/me/", {
    method: "PATCH", body: form, headers: {Accept: "application/json", Authorization: `Bearer ${session.access}`},
  });
  if (response.status === 401 && !retried && await renewToken()) return uploadAvatar(file, true);
  const answer = await response.json().catch(() => ({}));
  // 413 when larger than AVATAR_MAX_SIZE, 400 when it is no image: `detail` says which.
  if (!response.ok) throw new Error(answer.detail || `The avatar was refused (${response.status}).`);
  return answer;
}

$("#avatar-file").addEventListener("change", safely(async (event) => {
  const [file] = event.target.files;
  if (!file) return;
  try {
    keep(await uploadAvatar(file));
    notice("Your avatar is saved.");
  } finally {
    event.target.value = ""; // choosing the same file again is a change too
  }
}));

$("#avatar-remove").addEventListener("click", safely(async () => {
  keep(await apiJson("/api/auth/me/", {method: "PATCH", body: {avatar: null}}));
}));

/** After signing in: the top bar's avatar, and the account fresh from the server (another device may have changed it). */
export function startProfile() {
  $("#my-avatar").replaceChildren(avatar(session.user));
  api("/api/auth/me/").then((response) => response.json()).then((me) => {
    if (session) keep(me);
  }).catch(() => {});
}
