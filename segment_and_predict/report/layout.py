"""Page building blocks shared by the report's sections: number formats, notes, charts,
and the Jinja2 environment the page and its sections are rendered with.

Every chart is an ``<img data-chart="<name>">`` inside a ``<figure>``
(:class:`Page` counts them); a section is ``<section id=anchor><h2>``.

The sections' words and markup are templates (``templates/sections/``, autoescaped):
the Python side hands them numbers, dates and frames' rows, and the templates format
them with the filters ``num``, ``count``, ``pct``, ``whole``, ``day`` and ``stamp``
below. In a section template a line break and the indentation after it are not output
(see :class:`_JoinLines`), so the markup can be laid out on lines while the page stays
as compact as before; a paragraph of prose is therefore one line.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from functools import cache
from html import escape

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

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


def _day_text(value) -> str:
    """A date as text (not escaped: the templates escape it)."""
    if _missing(value):
        return "n/a"
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return str(value)


def day(value) -> str:
    """A date for HTML built in Python: "n/a", a date or the escaped value."""
    return escape(_day_text(value))


def whole(value) -> str:
    """A count that is an expectation (a sum of probabilities), rounded."""
    return "n/a" if _missing(value) else f"{round(float(value)):,}"


def _text_or_na(value) -> str:
    return "n/a" if _missing(value) else str(value)


def stamp(value) -> str:
    if _missing(value):
        return "n/a"
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d %H:%M") + (" UTC" if ts.tzinfo is not None else "")


def _macros():
    """templates/sections/macros.html.j2 as a module (its macros callable from Python)."""
    return environment().get_template("sections/macros.html.j2").module


def _missing_note(table: str) -> str:
    return str(_macros().missing_note(table))


def _empty_note(text: str) -> str:
    # escaped here as the Python-built sections always have (an apostrophe is &#x27;)
    return str(_macros().empty_note(Markup(escape(text))))


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


# ---------------------------------------------------------------- templates

_LINE_BREAK = re.compile(r"\n[ \t]*")


class _JoinLines(Extension):
    """In the section templates, drop each line break and the indentation after it.

    Only the template's text is touched (never the inside of ``{{ }}`` or ``{% %}``),
    and only in ``sections/``: the page template keeps its own line breaks.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        if not (stream.name or "").startswith("sections/"):
            yield from stream
            return
        for token in stream:
            if token.type == "data":
                token = Token(token.lineno, "data", _LINE_BREAK.sub("", token.value))
            yield token


@cache
def environment() -> Environment:
    """The autoescaping environment of templates/ (the page and its sections)."""
    env = Environment(
        loader=PackageLoader(__package__, "templates"),
        autoescape=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
        extensions=[_JoinLines],
    )
    env.filters.update(
        num=num, count=count, pct=pct, whole=whole, day=_day_text, stamp=stamp, text=_text_or_na
    )
    env.tests["missing"] = _missing  # None, NaN, NaT, pd.NA
    return env


def render_section(template: str, **context) -> str:
    """One section template of templates/sections/ rendered with ``context``.

    Values are escaped by the template; HTML made by the report itself (a chart's
    ``<figure>``, another template's output) is passed as :class:`Markup`.
    """
    return environment().get_template(f"sections/{template}.html.j2").render(**context)


def markup(html: str) -> Markup:
    """HTML the report built itself (already escaped), to pass into a template."""
    return Markup(html)
