"""Page building blocks shared by the report's sections: number formats, notes, charts.

Every chart is an ``<img data-chart="<name>">`` inside a ``<figure>``
(:class:`Page` counts them); a section is ``<section id=anchor><h2>``.
"""

from __future__ import annotations

import base64
from html import escape

import pandas as pd

# ---------------------------------------------------------------- formatting


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def num(value, digits: int = 3) -> str:
    return "n/a" if _missing(value) else f"{float(value):.{digits}f}"


def count(value) -> str:
    return "n/a" if _missing(value) else f"{int(value):,}"


def pct(value, digits: int = 0) -> str:
    return "n/a" if _missing(value) else f"{float(value):.{digits}%}"


def day(value) -> str:
    if _missing(value):
        return "n/a"
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return escape(str(value))


def stamp(value) -> str:
    if _missing(value):
        return "n/a"
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d %H:%M") + (" UTC" if ts.tzinfo is not None else "")


def _gate_badge(passed) -> str:
    if _missing(passed):
        return '<span class="missing">unknown</span>'
    return '<span class="ok">passed</span>' if bool(passed) else '<span class="bad">failed</span>'


def _missing_note(table: str) -> str:
    return (
        f'<p class="missing">The table <code>{escape(table)}</code> is not in this warehouse '
        "(it may have been built before this part existed), so this section is empty.</p>"
    )


def _empty_note(text: str) -> str:
    return f'<p class="missing">{escape(text)}</p>'


class Page:
    """Collects the chart count while sections are rendered."""

    def __init__(self) -> None:
        self.charts: list[str] = []

    def figure(self, name: str, png: bytes | None, alt: str, caption: str = "") -> str:
        if png is None:
            return ""
        self.charts.append(name)
        data = base64.b64encode(png).decode("ascii")
        cap = f"<figcaption class='missing'>{escape(caption)}</figcaption>" if caption else ""
        return (
            f'<figure data-chart="{escape(name)}"><img data-chart="{escape(name)}" '
            f'alt="{escape(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'
        )


def _chart(figure_html: str, paragraphs: list[str], wide: bool = False) -> str:
    text = "".join(f"<p>{p}</p>" for p in paragraphs if p)
    cls = "chart wide" if wide else "chart"
    return f'<div class="{cls}">{figure_html}<div class="explain">{text}</div></div>'


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'
