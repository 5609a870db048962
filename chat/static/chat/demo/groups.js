// Managing a group, in its "Members and roles" panel: rename it, add people
// (found by name, people.js), remove members, leave.
//
// Who may do what is one table (docs/protocol.md, "Groups: who may do what"):
// the owner and admins rename and add; the owner removes anyone, an admin
// only members (403 `not_owner` otherwise); anyone leaves. This module offers
// only what the person's role allows; the server checks it regardless.
//
//   PATCH  /api/chat/<id>/ {title}                -> the conversation
//   POST   /api/chat/<id>/members/ {user_ids}     -> the conversation
//   DELETE /api/chat/<id>/members/<user_id>/      -> 204 (one's own id: leave)
//
// Every member's notifications socket then gets `conversation.updated` with
// the whole conversation and what changed: that frame is what shows a rename
// or a new member on everyone's page, this one's included (demo.js). Added
// people get it too, and their socket follows the group from then on; a
// removed member's is told last, and their room socket closes with 4403.

import {$, linkButton, notice, safely} from "./util.js";
import {api, apiJson, session} from "./connection.js";
import {personSearch} from "./people.js";

const RANK = {member: 0, admin: 1, owner: 2};
let page = null; // {room(): the open conversation, remember(conversation), left(id)}

/** What the page gives this module: the open conversation, keeping a changed one, and closing a left one. */
export function connectGroups(context) {
  page = context;
}

const roleOf = (conversation, userId) => conversation.users.find((user) => user.id === userId)?.role ?? "member";
const manages = (role) => role === "owner" || role === "admin";

/** Whether ``me`` may remove ``user`` from the group: a lower role, by its owner or an admin. */
function mayRemove(conversation, user) {
  const mine = roleOf(conversation, session.user.id);
  return user.id !== session.user.id && manages(mine) && RANK[mine] > RANK[user.role ?? "member"];
}

/** The buttons beside a member in the panel: Remove, where one's role allows it. */
export function memberActions(conversation, user) {
  if (!mayRemove(conversation, user)) return [];
  return [linkButton("Remove", () => removeMember(conversation, user), {"data-testid": "remove-member"})];
}

async function removeMember(conversation, user) {
  if (!confirm(`Remove ${user.name} from ${conversation.title || "the group"}?`)) return;
  await api(`/api/chat/${conversation.id}/members/${user.id}/`, {method: "DELETE"});
}

/** The rename form and the add-people search for those who may, and Leave for everyone. */
export function renderGroupManagement(conversation) {
  const mine = roleOf(conversation, session.user.id);
  $("#group-manage").hidden = !manages(mine);
  const title = $("#group-rename");
  if (document.activeElement !== title) title.value = conversation.title;
}

$("#group-rename-form").addEventListener("submit", safely(async (event) => {
  event.preventDefault();
  const conversation = page.room();
  const title = $("#group-rename").value.trim();
  if (!conversation || !title || title === conversation.title) return;
  page.remember(await apiJson(`/api/chat/${conversation.id}/`, {method: "PATCH", body: {title}}));
  $("#group-rename").blur();
}));

const clearAddSearch = personSearch($("#group-add-search"), $("#group-add-results"), (user) => {
  const conversation = page.room();
  if (conversation?.users.some((member) => member.id === user.id)) return [document.createTextNode("in the group")];
  return [linkButton("Add", async () => {
    const current = page.room();
    // Refused whole (`blocked`) if they blocked you: the answer says so, as a notice.
    page.remember(await apiJson(`/api/chat/${current.id}/members/`, {method: "POST", body: {user_ids: [user.id]}}));
    clearAddSearch();
    notice(`${user.name} is in the group now, and sees its history.`);
  }, {"data-testid": "add-member"})];
});

$("#leave-group").addEventListener("click", safely(async () => {
  const conversation = page.room();
  if (!conversation) return;
  const mine = roleOf(conversation, session.user.id);
  const handOn = mine === "owner" && conversation.users.length > 1 ? " The group passes to its earliest admin (or member)." : "";
  if (!confirm(`Leave ${conversation.title || "this group"}? You will no longer see it.${handOn}`)) return;
  await api(`/api/chat/${conversation.id}/members/${session.user.id}/`, {method: "DELETE"});
  page.left(conversation.id);
}));

/** Another room was opened: a half-typed search belongs to the last one. */
export function closeGroupManagement() {
  clearAddSearch();
}
