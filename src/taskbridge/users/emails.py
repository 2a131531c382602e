"""What counts as an email address: one rule for the API schema, the service and the CLI."""

from __future__ import annotations

import re

MAX_EMAIL_LENGTH = 320
_TRIMMED = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Unicode's White_Space: what a request model's ``strip_whitespace`` takes off the ends."""
_NEVER = r"\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
"""Controls and spaces, by code point: ``\\s`` differs between Python (which counts ``\\x1c``–
``\\x1f`` as space) and the ECMA regexes a client checks the documented pattern with, so the
pattern names every character it refuses."""
EMAIL_PATTERN = rf"^[{_TRIMMED}]*[^@{_NEVER}]+@[^@.{_NEVER}]+(\.[^@.{_NEVER}]+)+[{_TRIMMED}]*$"
"""Something before the only ``@``; after it, two or more dot-separated labels, none empty; no
space or control character inside. Spaces around it are allowed (and trimmed). Deliverability is
the invitation's job, not this check's: it refuses only what cannot be an address (``a@b``,
``0@.``, ``a@b..c``)."""
_EMAIL = re.compile(EMAIL_PATTERN)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def is_email(address: str) -> bool:
    """Whether ``address`` follows :data:`EMAIL_PATTERN` (and fits the column)."""
    return len(address) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(address) is not None
