"""What inline CSS does to whether a reader can see a piece of an email (rules R1 and R10).

A link or notice that a reader cannot see is not "really output". We judge text hidden when
an element it is in, or the text's own computed style, has any of these (decided on purpose,
erring on the side of "hidden": nobody styles a lawful footer like this):

* ``display: none``; ``visibility: hidden`` or ``collapse`` (inherited; a descendant may set
  ``visible`` again, as in CSS); ``mso-hide: all`` (hidden in Outlook);
* ``opacity`` below 0.3 (multiplied down the tree, as browsers do);
* a ``font-size`` below 6 px (inherited; ``em`` and ``%`` resolve against the parent, ``rem``
  against 16 px) or a ``line-height`` of 0 together with ``overflow: hidden``;
* ``height``, ``max-height``, ``width`` or ``max-width`` of 0 together with ``overflow: hidden``;
* text ``color: transparent`` (or alpha below 0.3), or a contrast ratio below 1.5 against the
  nearest known background colour (white text on a white background);
* off-screen: ``text-indent``, ``left``, ``top`` or ``margin-left`` at -1000 px or further;
* any ``clip`` or ``clip-path``; a ``transform`` that scales to 0.

Styles from ``<style>`` blocks are applied first (:func:`templates.visibility.inline_styles`,
with every ``@media`` rule treated as if it applied), so a class cannot hide what the inline
style shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import tinycss2
import tinycss2.color3

RGBA = tuple[float, float, float, float]

WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)
BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)
MIN_FONT_PX = 6.0
MIN_OPACITY = 0.3
MIN_CONTRAST = 1.5
OFF_SCREEN_PX = -1000.0
_ROOT_FONT_PX = 16.0
_LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*(px|pt|em|rem|%|ex|ch|vw|vh|cm|mm|in|pc)?$")
_ABSOLUTE_PX = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 9.6 / 2.54}
_FONT_KEYWORDS = {"xx-small": 9.0, "x-small": 10.0, "small": 13.0, "medium": 16.0}


@dataclass(frozen=True)
class Look:
    """The computed style of one element, as far as visibility goes."""

    gone: bool = False  # display:none and everything that no descendant can undo
    invisible: bool = False  # visibility:hidden (a descendant may undo it)
    font_px: float = _ROOT_FONT_PX
    opacity: float = 1.0
    color: RGBA | None = BLACK  # None: transparent
    background: RGBA | None = WHITE  # None: unknown (an image)
    tiny_line: bool = False  # line-height 0 (hides only with overflow hidden)

    @property
    def hides_text(self) -> bool:
        """True when text in an element with this look cannot be read."""
        if self.gone or self.invisible or self.color is None:
            return True
        if self.font_px < MIN_FONT_PX or self.opacity < MIN_OPACITY:
            return True
        return self.background is not None and contrast(self.color, self.background) < MIN_CONTRAST


def declarations(style: str) -> dict[str, str]:
    """``property -> value`` of a ``style`` attribute, lower-cased, ``!important`` dropped."""
    found: dict[str, str] = {}
    for item in tinycss2.parse_declaration_list(style, skip_comments=True, skip_whitespace=True):
        if item.type == "declaration":
            found[item.lower_name] = tinycss2.serialize(item.value).strip().lower()
    return found


def child_look(parent: Look, style: str, *, bgcolor: str | None = None) -> Look:
    """The look of an element with inline ``style`` (and ``bgcolor``) inside ``parent``."""
    found = declarations(style) if style else {}
    look = replace(parent, opacity=parent.opacity * _opacity(found.get("opacity")))
    look = replace(look, gone=parent.gone or _gone(found), tiny_line=_tiny_line(parent, found))
    if look.tiny_line and _clips_overflow(found):
        look = replace(look, gone=True)
    visibility = found.get("visibility")
    if visibility in ("hidden", "collapse"):
        look = replace(look, invisible=True)
    elif visibility == "visible":
        look = replace(look, invisible=False)
    if "font-size" in found:
        look = replace(look, font_px=_font_px(found["font-size"], parent.font_px))
    if "color" in found:
        look = replace(look, color=_color(found["color"], parent.color))
    has_background, background = _background(found, bgcolor)
    if has_background:
        look = replace(look, background=background)
    return look


def _gone(found: dict[str, str]) -> bool:
    if found.get("display") == "none" or found.get("mso-hide") == "all":
        return True
    if ("clip" in found and found["clip"] != "auto") or found.get("clip-path", "none") != "none":
        return True
    if re.search(r"scale[xy]?\(\s*0*\.?0*\s*[,)]", found.get("transform", "")):
        return True
    if any(
        _px(found.get(name)) <= OFF_SCREEN_PX
        for name in ("text-indent", "left", "top", "margin-left", "margin-top")
    ):
        return True
    zero_size = any(
        _px(found.get(name)) == 0 for name in ("height", "max-height", "width", "max-width")
    )
    return zero_size and _clips_overflow(found)


def _clips_overflow(found: dict[str, str]) -> bool:
    return any(
        found.get(name) in ("hidden", "clip") for name in ("overflow", "overflow-y", "overflow-x")
    )


def _tiny_line(parent: Look, found: dict[str, str]) -> bool:
    if "line-height" not in found:
        return parent.tiny_line
    return _px(found["line-height"]) == 0


def _px(value: str | None, relative_to: float = _ROOT_FONT_PX) -> float:
    """A length in px; ``inf`` when absent or not a length (so it never counts as small)."""
    if value is None:
        return float("inf")
    match = _LENGTH.match(value.split()[0] if value.split() else value)
    if match is None:
        return float("inf")
    number, unit = float(match.group(1)), match.group(2) or "px"
    if unit in _ABSOLUTE_PX:
        return number * _ABSOLUTE_PX[unit]
    if unit == "%":
        return number * relative_to / 100
    if unit in ("em", "ex", "ch"):
        return number * relative_to
    if unit == "rem":
        return number * _ROOT_FONT_PX
    return float("inf")  # viewport units: unknown here, judged visible


def _font_px(value: str, parent_px: float) -> float:
    if value in _FONT_KEYWORDS:
        return _FONT_KEYWORDS[value]
    size = _px(value, relative_to=parent_px)
    return parent_px if size == float("inf") else size


def _opacity(value: str | None) -> float:
    if value is None:
        return 1.0
    try:
        number = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        return 1.0
    return min(max(number, 0.0), 1.0)


def _parse_color(value: str) -> RGBA | str | None:
    """RGBA, "transparent" (alpha below the minimum), or None when not a colour."""
    parsed = tinycss2.color3.parse_color(value)
    if parsed is None or isinstance(parsed, str):
        return None  # not a colour, or currentColor
    rgba = (parsed.red, parsed.green, parsed.blue, parsed.alpha)
    return "transparent" if rgba[3] < MIN_OPACITY else rgba


def _color(value: str, inherited: RGBA | None) -> RGBA | None:
    parsed = _parse_color(value)
    if parsed == "transparent":
        return None
    return inherited if parsed is None or isinstance(parsed, str) else parsed


def _background(found: dict[str, str], bgcolor: str | None) -> tuple[bool, RGBA | None]:
    """Whether the element sets a background, and its colour (None: unknown, an image)."""
    candidates = [found.get("background-color"), found.get("background"), bgcolor]
    if any(v and "url(" in v for v in candidates) or "background-image" in found:
        return True, None
    for value in candidates:
        for token in (value or "").replace(",", " ").split():
            parsed = _parse_color(token)
            if isinstance(parsed, tuple):
                return True, parsed
    return False, None


def _luminance(color: RGBA) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue, _ = color
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(foreground: RGBA, background: RGBA) -> float:
    """The WCAG contrast ratio of two colours (1 = none, 21 = black on white)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
