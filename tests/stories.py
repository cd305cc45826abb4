"""Builds the story-clustering test set (tests/data/stories.yaml) as replay input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "stories.yaml"
OUTLETS = {"harbour": "Harbour Wire", "ledger": "Ledger Tech Daily", "digest": "Chip Policy Digest"}


def story_items() -> list[dict[str, Any]]:
    """One replay item per article, each with its true ``story`` and a ``kind``."""
    items = []
    for story in yaml.safe_load(DATA.read_text())["stories"]:
        base_url = f"https://{story['outlet']}.example/news/{story['id']}"
        items.append(
            _item(story, 0, "base", story["outlet"], story["title"], story["body"], base_url)
        )
        for number, variant in enumerate(story.get("variants", []), start=1):
            items.append(_variant(story, number, variant, base_url))
    return items


def _variant(
    story: dict[str, Any], number: int, variant: dict[str, Any], base_url: str
) -> dict[str, Any]:
    body = list(story["body"])
    kind, outlet = variant["kind"], variant["outlet"]
    if kind == "amp":
        url = f"https://amp.{outlet}.example/news/{story['id']}/amp?utm_source=share"
        return _item(story, number, kind, outlet, story["title"], body[:-1], url)
    url = f"https://{outlet}.example/news/{story['id']}-{number}"
    if kind == "copy":
        paragraphs = [body[i] for i in variant["keep"]]
    else:
        paragraphs = [p for i, p in enumerate(body) if i not in variant.get("drop", [])]
        if "lede" in variant:
            paragraphs[0] = variant["lede"]
        paragraphs += variant.get("add", [])
        url = base_url + f"?version={number}"
    text = "\n\n".join(paragraphs)
    for old, new in variant.get("edits", []):
        text = text.replace(old, new)
    return _item(story, number, kind, outlet, variant["title"], [text], url)


def _item(
    story: dict[str, Any],
    number: int,
    kind: str,
    outlet: str,
    title: str,
    paragraphs: list[str],
    url: str,
) -> dict[str, Any]:
    return {
        "id": f"{story['id']}-{number}",
        "story": story["id"],
        "kind": kind,
        "title": title,
        "text": "\n\n".join(paragraphs),
        "url": url,
        "source": OUTLETS[outlet],
        "published": "2026-11-25T09:00:00Z",
    }
