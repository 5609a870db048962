// Small helpers every module of the demo client uses: building elements
// (text always as text, never as HTML: the page's CSP allows no inline
// script or style either), notices, and times.

export const $ = (selector) => document.querySelector(selector);
export const JSON_HEADERS = {"Content-Type": "application/json", Accept: "application/json"};

/** An element with attributes and children; text goes in as text, never as HTML. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

let noticeTimer = 0;
export function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

/** An event handler that shows its failure instead of leaving an unhandled rejection. */
export const safely = (handler) => (...args) => Promise.resolve(handler(...args)).catch((error) => notice(error.message));

export function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // crypto.randomUUID needs https
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export const byTime = (a, b) => Date.parse(b.modified_at) - Date.parse(a.modified_at);
export const clock = (iso) => new Date(iso).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});

/** A button that looks like a link and runs ``handler``, showing its failure as a notice. */
export function linkButton(label, handler, attributes = {}) {
  const element = el("button", {type: "button", class: "link", ...attributes}, label);
  element.addEventListener("click", safely(handler));
  return element;
}

/** A short date and time, for what is not today. */
export const when = (iso) => new Date(iso).toLocaleString([], {dateStyle: "medium", timeStyle: "short"});

