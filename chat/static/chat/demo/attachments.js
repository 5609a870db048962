// Attachments (docs/protocol.md, "Attachments"): "Attach", a drop on the
// composer or a paste uploads each file at once (POST
// /api/chat/<id>/attachments/, multipart), and the next message sent carries
// their ids (`attachment_ids`; its text may then be empty). A file the server
// refuses (too large: 413 `too_large`, a type it does not take: 415
// `unsupported_type`) is named with the server's own
// words under the composer; the text typed stays as it was.
//
// Files are served to members only, with the bearer token: the page fetches
// them (never a bare <img src>), so images show as thumbnails drawn from the
// bytes into a small data: URL (the page's policy, img-src 'self' data:,
// loads nothing else), and other files are a button with their name and size
// that downloads them. Addresses are built from the ids, on this origin: with
// object storage the file's `url` redirects to the bucket, which the page's
// policy (connect-src 'self') would have to name.

import {$, el, linkButton, notice, safely} from "./util.js";
import {api, renewToken, session} from "./connection.js";
import {page} from "./context.js";

const THUMBNAIL = 240; // px, the longer side
const thumbnails = new Map(); // attachment id -> data: URL (or a Promise of it), kept across redraws

let uploads = []; // [{id, name, size, …}]: uploaded for the next message of the open room
let uploadsRoom = null;

const fileAddress = (conversationId, attachment) => `/api/chat/${conversationId}/attachments/${attachment.id}/`;

/** 48213 -> "47 KB". */
export function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// --- Sending ------------------------------------------------------------------------

/** POST the file as multipart (not api(): that one speaks JSON); a 401 renews the token once. */
async function upload(conversationId, file, retried = false) {
  const form = new FormData();
  form.append("file", file);
  let response;
  try {
    response = await fetch(`/api/chat/${conversationId}/attachments/`, {
      method: "POST", headers: {Accept: "application/json", Authorization: `Bearer ${session.access}`}, body: form,
    });
  } catch {
    throw new Error(`${file.name} was not uploaded: the connection failed.`);
  }
  if (response.status === 401 && !retried && (await renewToken())) return upload(conversationId, file, true);
  const answer = await response.json().catch(() => ({}));
  // `detail` is the server's sentence for people (docs/errors.md): "The file is larger than …".
  if (!response.ok) throw new Error(`${file.name}: ${answer.detail || `not uploaded (${response.status})`}`);
  return answer;
}

function renderUploads() {
  $("#attachments-pending").replaceChildren(...uploads.map((attachment) => el("li", {"data-testid": "attachment-pending"},
    `${attachment.name} (${fileSize(attachment.size)}) `,
    el("button", {type: "button", class: "link", "data-unattach": attachment.id, "aria-label": `Remove ${attachment.name}`}, "Remove"))));
  $("#attachments-pending").hidden = !uploads.length;
}

/** Upload the files for the next message of the open room; refusals are named under the composer. */
async function attach(files) {
  const room = page.room();
  if (!room || !files.length) return;
  const error = $("#attach-error");
  error.textContent = "";
  if (uploadsRoom !== room.id) { uploads = []; uploadsRoom = room.id; }
  $("#attach-state").textContent = `Uploading ${files.length > 1 ? `${files.length} files` : files[0].name}…`;
  const send = $("#composer button[type=submit]");
  send.disabled = true; // a message sent now would go without them
  const refused = [];
  try {
    for (const file of files) {
      try {
        const attachment = await upload(room.id, file);
        if (page.room()?.id === room.id) uploads.push(attachment);
      } catch (failure) {
        refused.push(failure.message);
      }
    }
  } finally {
    $("#attach-state").textContent = "";
    send.disabled = false;
  }
  renderUploads();
  if (refused.length) {
    error.textContent = refused.join(" ");
    notice(refused.join(" "));
  }
}

$("#attach-file").addEventListener("change", safely(async (event) => {
  const files = [...event.target.files];
  event.target.value = ""; // choosing the same file again is a new choice
  await attach(files);
}));

// Files dropped on the composer, or pasted into it (a screenshot), are attached the same way.
const composer = $("#composer");
composer.addEventListener("dragover", (event) => {
  if (event.dataTransfer?.types.includes("Files")) event.preventDefault(); // else the browser opens the file
});
composer.addEventListener("drop", (event) => {
  if (!event.dataTransfer?.files.length) return;
  event.preventDefault();
  safely(attach)([...event.dataTransfer.files]);
});
$("#message-input").addEventListener("paste", (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (!files.length) return; // text pastes as text
  event.preventDefault();
  safely(attach)(files);
});

$("#attachments-pending").addEventListener("click", (event) => {
  const button = event.target.closest("[data-unattach]");
  if (!button) return;
  // The upload stays on the server until CHAT_ATTACHMENT_ORPHAN_HOURS clears it: there is no delete.
  uploads = uploads.filter((attachment) => attachment.id !== button.dataset.unattach);
  renderUploads();
});

/** What the next message.send adds: the ids of the files uploaded for it. */
export function attachmentFields() {
  const room = page.room();
  if (!room || uploadsRoom !== room.id || !uploads.length) return {};
  return {attachment_ids: uploads.map((attachment) => attachment.id)};
}

/** The message went (or another room opened): the composer holds no files any more. */
export function clearAttachments() {
  uploads = [];
  uploadsRoom = null;
  $("#attach-error").textContent = "";
  renderUploads();
}

// --- Showing ------------------------------------------------------------------------

/** An image's bytes as a data: URL of at most THUMBNAIL px, drawn on a canvas (no blob: URL needed). */
async function thumbnail(conversationId, attachment) {
  const blob = await (await api(fileAddress(conversationId, attachment))).blob();
  const bitmap = await createImageBitmap(blob);
  const scale = Math.min(1, THUMBNAIL / Math.max(bitmap.width, bitmap.height));
  const canvas = el("canvas", {width: Math.max(1, Math.round(bitmap.width * scale)), height: Math.max(1, Math.round(bitmap.height * scale))});
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return canvas.toDataURL(attachment.content_type === "image/jpeg" ? "image/jpeg" : "image/png");
}

function imageElement(conversationId, attachment) {
  // Its size before its bytes arrive, so the history does not jump when they do.
  const scale = Math.min(1, THUMBNAIL / Math.max(attachment.width, attachment.height));
  const image = el("img", {class: "thumbnail", alt: attachment.name, "data-testid": "attachment-image",
    width: Math.round(attachment.width * scale), height: Math.round(attachment.height * scale)});
  let known = thumbnails.get(attachment.id);
  if (typeof known === "string") {
    image.src = known;
    return image;
  }
  if (!known) {
    known = thumbnail(conversationId, attachment);
    thumbnails.set(attachment.id, known);
    known.then((url) => thumbnails.set(attachment.id, url), () => thumbnails.delete(attachment.id));
  }
  known.then((url) => { image.src = url; }, () => { image.alt = `${attachment.name} (could not be shown)`; });
  return image;
}

/** The message's files: images as thumbnails, and every file as a download with its name and size. */
export function attachmentList(message) {
  if (!message.attachments?.length || message.deleted || message.moderated) return null;
  return el("ul", {class: "attachments", "aria-label": "Files"}, ...message.attachments.map((attachment) => {
    const isImage = attachment.content_type.startsWith("image/") && attachment.width && attachment.height;
    return el("li", {"data-testid": "attachment"},
      isImage ? imageElement(message.conversation_id, attachment) : null,
      linkButton(`${attachment.name} · ${fileSize(attachment.size)}`, () => download(message.conversation_id, attachment),
        {"data-testid": "attachment-download"}));
  }));
}

/** Fetch the file with the token and hand it to the browser as a download under its own name. */
async function download(conversationId, attachment) {
  const blob = await (await api(fileAddress(conversationId, attachment))).blob();
  const address = URL.createObjectURL(blob);
  const link = el("a", {href: address, download: attachment.name, hidden: true});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(address), 60_000);
}
