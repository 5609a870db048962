"""
What a link preview is made of, in plain Python (no I/O):

    first_url("see https://example.com/a.")   -> "https://example.com/a"
    page_preview(html, url="https://example.com/a")
        -> {"url", "title", "description", "image", "site_name"}, or None without a title or description

Open Graph first (``og:title``, ``og:description``, ``og:image``,
``og:site_name``), then ``<title>`` and ``<meta name="description">``; read
with the standard library's html.parser, which never fails on bad markup.
Texts are cut to bounded lengths; an image is kept only as an absolute
http(s) URL (clients fetch it themselves, or not).
"""

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from core.outbound import URL_MAX_LENGTH

TITLE_MAX = 300
DESCRIPTION_MAX = 1000
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation that ends a sentence rather than the URL ("see https://x.org/a.").
_TRAILING = ".,;:!?)]}'\"*_~"


def first_url(body: str) -> str | None:
    """The first http(s) URL in ``body`` (trailing punctuation left out), or None."""
    if not body or "http" not in body.lower():
        return None
    for match in _URL.finditer(body):
        url = match.group(0)
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # a URL with parentheses of its own (a wiki page)
            url = url[:-1]
        parts = urlsplit(url)
        if parts.hostname and len(url) <= URL_MAX_LENGTH:
            return url
    return None


class _Head(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title: list[str] = []
        self._in_title = False
        self.done = False

    def handle_starttag(self, tag, attrs):
        if tag == "meta":
            values = dict(attrs)
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and values.get("content") and key not in self.meta:
                self.meta[key] = values["content"]
        elif tag == "title":
            self._in_title = True
        elif tag == "body":
            self.done = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data):
        if self._in_title and not self.done:
            self.title.append(data)


def _text(value: str | None, limit: int) -> str:
    text = " ".join((value or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _image(value: str | None, base: str) -> str | None:
    if not value:
        return None
    url = urljoin(base, value.strip())
    return url if urlsplit(url).scheme in ("http", "https") and len(url) <= URL_MAX_LENGTH else None


def page_preview(html: str, *, url: str, page_url: str | None = None) -> dict | None:
    """The preview of a page at ``url`` (``page_url``: where it was read, after redirects; relative images resolve there)."""
    parser = _Head()
    parser.feed(html)
    parser.close()
    meta = parser.meta
    title = _text(meta.get("og:title") or meta.get("twitter:title") or "".join(parser.title), TITLE_MAX)
    description = _text(
        meta.get("og:description") or meta.get("twitter:description") or meta.get("description"), DESCRIPTION_MAX
    )
    if not title and not description:
        return None
    return {
        "url": url,
        "title": title,
        "description": description,
        "image": _image(meta.get("og:image") or meta.get("twitter:image"), page_url or url),
        "site_name": _text(meta.get("og:site_name"), TITLE_MAX) or (urlsplit(page_url or url).hostname or ""),
    }
