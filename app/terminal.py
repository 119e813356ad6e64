"""Text from a source made safe for a terminal (docs/cli.md, "Output").

A tracker title, a status, a KPI name or an error message quoting a source can carry
control characters: ANSI CSI and OSC escape sequences (colours, the window title, the
clipboard, hyperlinks), BEL, backspaces, carriage returns, C1 controls (U+0080-U+009F, an
8-bit CSI among them) and the bidirectional overrides and isolates (U+202A-U+202E,
U+2066-U+2069, and the LRM/RLM/ALM marks) that make text read differently from what it is
("Trojan Source"). The CLI's renderers pass every such string through `safe`, which writes
each of those characters as a visible escape (`\\x1b`, `\\x07`, `\\u202e`); `safe_lines` does
the same but keeps line breaks, for text the CLI builds of several lines (errors).

>>> safe("Pay\\x1b]0;pwned\\x07 now\\u202e")
'Pay\\\\x1b]0;pwned\\\\x07 now\\\\u202e'
>>> safe_lines("two\\nlines\\r")
'two\\nlines\\\\x0d'
>>> safe("Café – 10 % ✓")
'Café – 10 % ✓'
"""
from __future__ import annotations

import re

_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"   # DEL, C1, bidi controls
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")
_UNSAFE_IN_JSON = re.compile(f"[{_OTHERS}]")     # json.dumps escapes C0 itself


def _escape(m: re.Match) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def safe(text) -> str:
    """`text` with every control character and bidirectional control escaped (visible)."""
    return _UNSAFE.sub(_escape, text if isinstance(text, str) else str(text))


def safe_lines(text) -> str:
    """Like `safe`, but line breaks (LF) stay: for a message of several lines."""
    return _UNSAFE_BUT_NEWLINE.sub(_escape, text if isinstance(text, str) else str(text))


def json_safe(text: str) -> str:
    """JSON text with the characters `json.dumps(ensure_ascii=False)` leaves raw (C1 controls,
    DEL, bidirectional controls) written as \\uXXXX escapes: the same JSON, safe to print."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
