"""Text shown literally: Markdown escaping and the one-line status messages every page and write uses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

import streamlit as st

Level = Literal["success", "info", "warning", "error"]
#: A message to show: its level and its text.
Said = tuple[Level, str]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")
#: The icon of each level.
ICONS: dict[Level, str] = {
    "success": ":material/check_circle:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it literally (file names and messages from uploads).

    Every Markdown, HTML and directive character gets a backslash, so ``[x](javascript:...)``, ``<b>``,
    ``:red[...]`` or ``$x$`` in a file name or header shows as typed. Newlines become spaces.

    >>> plain("[x](javascript:alert(1)) :red[y]")
    '\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\) \\\\:red\\\\[y\\\\]'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def message(level: Level, text: str) -> None:
    """One status message; ``text`` is shown literally (it may quote an uploaded file)."""
    show = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[level]
    show(plain(text), icon=ICONS[level])


def messages(items: Iterable[Said]) -> None:
    """Several status messages, in order."""
    for level, text in items:
        message(level, text)
