"""Cell text that no spreadsheet program evaluates, and that reads back exactly as it was written.

Content text (FAQ examples come from residents' messages through the review queue) must never become a live
formula when staff open an export. The rules:

- xlsx: every text cell is stored as a string (never a formula); one that starts like a formula also gets
  Excel's quote prefix, so Excel shows it literally and keeps it text when staff edit the cell.
- csv: a cell starting with a formula trigger (OWASP: `= + - @`, tab, CR, and their full-width forms) or with
  `'` is written with one extra leading `'`; the import removes exactly one leading `'`. Escaping `'` itself
  makes the scheme reversible: `'=x` is written `''=x` and reads back `'=x`.
- Control characters other than tab, newline and CR cannot live in XML (nor a NUL in Python's csv reader);
  both exports drop them.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
QUOTE = "'"
_UNCARRIED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def carried(text: str) -> str:
    """The text without the control characters a spreadsheet cannot hold."""
    return _UNCARRIED.sub("", text)


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet program could read the text as a formula."""
    return text.startswith(FORMULA_TRIGGERS)


def csv_cell(value: Any) -> str:
    """A text as written into a CSV cell: carried characters only, quote-prefixed when it could be a formula."""
    text = carried(str(value))
    return QUOTE + text if looks_like_formula(text) or text.startswith(QUOTE) else text


def from_csv_cell(text: str) -> str:
    """The text a CSV cell holds, with the export's quote prefix (one leading `'`) removed."""
    return text[1:] if text.startswith(QUOTE) else text
