"""The small pieces every sentence under a table or on a slide is built from: a number
formatted for a sentence, a count read from a result, a text in its singular or plural form.

Apart from the sentences themselves (`sentences`, `crashsentences`), which both use them.
Neither rich nor matplotlib is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqlab.report.i18n import TEXTS, text

Doc = Mapping[str, Any]


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def say(key: str, n: int, lang: str, **fields: Any) -> str:
    """`text(key)` with `{n}` (and `fields`) filled, in the singular form when n == 1."""
    one = f"{key}.one"
    return text(one if n == 1 and one in TEXTS[lang] else key, lang).format(n=n, **fields)


def count_of(value: Any) -> int:
    """A count of a result (fields added later read as 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
