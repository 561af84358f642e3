"""Mail HTML: an allowlist sanitiser (nh3) and a small HTML-to-text converter (SEC-2, IN-6).

sanitize_html keeps formatting and links, and drops everything that can run code or reach the
network on its own: scripts, styles, frames, objects, forms, SVG/MathML, event handlers, CSS that
could load or run anything, and every image that is not part of the message. Images that refer to
a part of the message (`<img src="cid:…">`) are kept as `<img data-cid="…">` without a `src`: the
page that shows the message can point them at the attachment URL. Links get
rel="noopener noreferrer nofollow".

html_to_text first runs the same sanitiser (so the stdlib HTMLParser only ever sees well-formed
HTML, which keeps it linear), then renders blocks as lines and <blockquote> as "> " lines, so the
reply splitter can fold quoted history in HTML-only mail too.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_TAGS = (set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}) - {"area", "map", "details", "summary"}
# Dropped with everything inside them, not just unwrapped.
_DROP_WITH_CONTENT = {
    "script",
    "style",
    "title",
    "template",
    "iframe",
    "frame",
    "frameset",
    "noframes",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "noscript",
    "noembed",
    "xmp",
    "plaintext",
    "textarea",
    "select",
    "head",
}
_GENERIC = {"title", "lang", "dir", "align", "style", "width", "height", "bgcolor", "valign"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": _GENERIC,
    "a": {"href", "hreflang", "name"},
    "img": {"src", "alt", "width", "height", "border", "hspace", "vspace"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "time": {"datetime"},
    "data": {"value"},
    "hr": {"size", "noshade"},
}
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "font-variant",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "line-height",
    "letter-spacing",
    "white-space",
    "vertical-align",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "width",
    "height",
    "max-width",
    "min-width",
    "display",
    "direction",
    "list-style-type",
}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
# In a style value: anything that could fetch, run or hide something.
_BAD_STYLE_RE = re.compile(
    r"url\s*\(|expression|javascript|vbscript|@import|behavior|\\|&#|<", re.I
)
_CID_SRC_RE = re.compile(r' src="cid:([^"]{0,500})"')


_BAD_VALUE_RE = re.compile(r"<|javascript:|vbscript:|livescript:", re.IGNORECASE)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if _BAD_VALUE_RE.search(value.replace("\t", "").replace("\n", "").replace("\r", "")):
        return None  # inert inside an attribute, but no reason to keep markup-looking text
    if attribute == "src":
        return value if tag == "img" and value.strip().lower().startswith("cid:") else None
    if attribute == "style" and _BAD_STYLE_RE.search(value):
        return None
    if attribute == "href" and value.strip().lower().startswith("cid:"):
        return None
    return value


def sanitize_html(html: str) -> str:
    """Sanitised HTML for showing in a sandboxed frame; "" for empty input."""
    if not html or not html.strip():
        return ""
    cleaned = nh3.clean(
        html.replace("\x00", ""),
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_STYLE_PROPERTIES,
    )
    # Attribute values come out quoted with "…" and their own quotes escaped, so this only ever
    # renames an <img>'s src that holds a cid: reference.
    return _CID_SRC_RE.sub(r' data-cid="\1"', cleaned)


# --- HTML to text ----------------------------------------------------------------------------

_TEXT_TAGS = {
    "a", "b", "blockquote", "br", "div", "p", "pre", "li", "ul", "ol", "table", "tr", "td",
    "th", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dd", "dt", "dl", "tbody", "thead",
    "tfoot", "img", "span", "i", "em", "strong", "u", "font", "center", "code", "caption",
    "section", "article", "header", "footer", "address", "figure", "figcaption", "main",
}  # fmt: skip
_BREAK = {"br", "div", "tr", "li", "dt", "dd", "caption", "figcaption", "center"}
_PARAGRAPH = {
    "p", "pre", "table", "ul", "ol", "dl", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "section", "article", "header", "footer", "address", "figure", "main",
}  # fmt: skip
_WS_RE = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")
_MAX_HTML_FOR_TEXT = 1024 * 1024


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote = 0
        self.pre = 0
        self.pending_blank = False
        self.href: list[str] = []
        self.link_text: list[int] = []

    def _flush(self) -> None:
        text = "".join(self.current)
        self.current = []
        if not self.pre:
            text = text.strip()
        if not text:
            return
        if self.pending_blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append("")
        self.pending_blank = False
        prefix = "> " * self.quote
        for line in text.split("\n"):
            self.lines.append((prefix + line).rstrip() if prefix else line.rstrip())

    def _block(self, paragraph: bool) -> None:
        self._flush()
        if paragraph:
            self.pending_blank = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAK or tag in _PARAGRAPH:
            self._block(tag in _PARAGRAPH)
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag in {"td", "th"}:
            if self.current and not self.current[-1].endswith(" "):
                self.current.append(" ")
        elif tag == "li":
            self.current.append("- ")
        elif tag == "hr":
            self.lines.append("> " * self.quote + "---")
        elif tag == "a":
            self.href.append(dict(attrs).get("href") or "")
            self.link_text.append(len(self.current))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.current.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in {"br", "hr", "img"}:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.href:
            href = self.href.pop()
            start = self.link_text.pop()
            shown = "".join(self.current[start:]).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if href.lower().startswith(("http:", "https:", "mailto:")) and target not in shown:
                self.current.append(f" <{target}>" if shown else target)
            return
        if tag in _BREAK or tag in _PARAGRAPH:
            self._block(tag in _PARAGRAPH)
        if tag == "blockquote" and self.quote:
            self.quote -= 1
        elif tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.pre:
            self.current.append(data.replace("\r\n", "\n").replace("\u00a0", " "))
            return
        text = _WS_RE.sub(" ", data)
        if text == " " and (not self.current or self.current[-1].endswith(" ")):
            return
        self.current.append(text)

    def result(self) -> str:
        self._flush()
        out: list[str] = []
        for line in self.lines:
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # at most one blank line in a row
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: entities decoded, blocks as lines, quotes as "> "."""
    if not html or not html.strip():
        return ""
    safe = nh3.clean(
        html[:_MAX_HTML_FOR_TEXT].replace("\x00", ""),
        tags=_TEXT_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={"a": {"href"}, "img": {"alt"}},
        strip_comments=True,
        link_rel=None,
        url_schemes=_URL_SCHEMES,
    )
    renderer = _TextRenderer()
    renderer.feed(safe)
    renderer.close()
    return renderer.result()
