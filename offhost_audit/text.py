"""Untrusted text from hosts, made safe for human-readable output.

Names, captions, messages and errors come from the estate: a VM called ``\\x1b]0;pwned\\x07`` must
not retitle the admin's terminal, and ``\\x1b[2J`` must not clear it. Every human-readable face
(the table, text and Markdown reports, the TUI) passes host text through :func:`clean`; JSON keeps
the exact value. Markup escaping (HTML, Rich/Textual) is the renderer's job on top of this.
"""

from __future__ import annotations

import re

# C0 controls except TAB and LF, DEL, C1 controls, the Unicode line/paragraph separators and
# bidi overrides that reorder what a reader sees, and lone surrogates (no terminal can print them).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean(value: object, *, keep_newlines: bool = True) -> str:
    """``str(value)`` with terminal control characters replaced by U+FFFD (visible, never executed).

    CRLF and a lone CR become LF (collectors already normalise host text; this covers runs stored
    before). ``keep_newlines=False`` also turns TAB and LF into spaces, for one-line cells.
    """
    text = value if isinstance(value, str) else str(value)
    if "\r" in text:  # Windows line ends (CRLF, or a lone CR) are line breaks, not control characters
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("\ufffd", text)
    if not keep_newlines:
        text = text.replace("\n", " ").replace("\t", " ")
    return text


def unsafe_character(text: str, *, newlines: bool = True) -> str | None:
    """The first character :func:`clean` would replace (with ``newlines=False`` also TAB, LF and CR),
    as ``U+XXXX`` for a message; None when there is none. For input that must be refused, not cleaned."""
    m = _CONTROL.search(text) or (None if newlines else _BREAKS.search(text))
    return f"U+{ord(m.group()):04X}" if m else None


_BREAKS = re.compile("[\t\n\r]")
_LIST_ITEM = re.compile(r"^([-*\u2022]|\d+[.)])\s")


def reflow(text: str) -> str:
    """Join hard-wrapped lines so that the reader's screen wraps at its own width.

    Blank lines (paragraphs) and list items (``-``, ``*``, ``1.``) keep their line breaks. Used for
    the policies' remediation and description texts, which the METADATA blocks wrap at ~100 columns.
    """
    out: list[str] = []
    for line in text.split("\n"):
        s = line.strip()
        if not s:
            out.append("")
        elif out and out[-1] and not _LIST_ITEM.match(s):
            out[-1] += " " + s
        else:
            out.append(s)
    return "\n".join(out).strip()


# scheme://NETLOC-WITH-USERINFO@: greedy up to the netloc's last '@' (a raw '@' in a password too).
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#]*@")


def redact_url(text: str) -> str:
    """``text`` with the user name and password of every URL in it replaced by ``***``.

    ``http://user:pass@opa:8181`` becomes ``http://***@opa:8181``: the one way a URL that may carry
    credentials (``--opa-url``) reaches a message, a log line, a report or the history.
    """
    return _URL_USERINFO.sub(r"\1***@", text) if "@" in text else text
