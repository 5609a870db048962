// What a message or a member carries besides its text: a "bot" badge for
// accounts that are bots (`is_bot: true` on the user JSON, absent for
// people; docs/integrations.md) and the link preview the server fetched for
// a message's first URL (`preview`, docs/webhooks.md "Link previews"), which
// arrives after the message, as a `chat.message.updated` with the whole message.

import {el} from "./util.js";

/** "bot" beside the name of a bot account; nothing for a person. */
export function botBadge(user) {
  return user?.is_bot ? el("span", {class: "bot-badge", "data-testid": "bot", title: "An integration, not a person"}, "bot") : null;
}

const isWebAddress = (url) => /^https?:\/\//i.test(url ?? "");

/**
 * A small card under the message: site, title (a link to the page) and
 * description. No image: `preview.image` is an address on another site, and
 * the page's policy (img-src 'self' data:) loads none, on purpose: an image
 * from anywhere would tell that site who read the message and when. A client
 * without that policy may show it.
 */
export function previewCard(message) {
  const preview = message.preview;
  if (!preview || message.deleted || !isWebAddress(preview.url)) return null;
  const host = new URL(preview.url).host;
  return el("div", {class: "preview-card", "data-testid": "preview"},
    el("span", {class: "preview-site"}, preview.site_name || host),
    el("a", {href: preview.url, target: "_blank", rel: "noopener noreferrer nofollow", class: "preview-title"},
      preview.title || preview.url),
    preview.description ? el("p", {class: "preview-description"}, preview.description) : null);
}
