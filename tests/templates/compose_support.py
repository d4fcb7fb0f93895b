"""What a composed email may load from outside: nothing but the salon's own images."""

import re
from html.parser import HTMLParser

SALON_MEDIA = "https://app.salonpost.example/media/anna/"


class Resources(HTMLParser):
    """Every URL the email would load by itself (not links a reader may click)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loaded: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        if tag in ("img", "script", "iframe", "embed", "source", "video", "audio"):
            self.loaded.append(values.get("src") or "")
        if tag == "link":
            self.loaded.append(values.get("href") or "")
        if tag == "object":
            self.loaded.append(values.get("data") or "")
        self.loaded += re.findall(r"url\(([^)]*)\)", values.get("style") or "")
        if values.get("background"):
            self.loaded.append(values["background"] or "")


def external_resources(html: str) -> list[str]:
    """URLs loaded from anywhere but the salon's media path (CSS imports included)."""
    reader = Resources()
    reader.feed(html)
    found = [url for url in reader.loaded if url and not url.startswith(SALON_MEDIA)]
    found += re.findall(r"@import[^;]*|@font-face", html)
    return found
