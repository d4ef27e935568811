"""Shared pieces of the browser test: where things are, which pages, the summary."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # Debian's package, installed by `make site-test`
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = REPO / "_vendor" / "node_modules" / "axe-core" / "axe.min.js"  # npm, via `make vendor`
LOCAL_HOST = "127.0.0.1"


def toc_docnames(toc_path: Path = REPO / "_toc.yml") -> list[str]:
    """Every page of the table of contents, root first, in reading order."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return names


def is_chapter(docname: str) -> bool:
    """A numbered chapter of the book, ``chapters/NN_topic`` (not a back-matter page)."""
    return re.fullmatch(r"chapters/\d\d_\w+", docname) is not None


# Numbers for the report, written to _build/site-test-report.json and printed at the end.
SUMMARY: dict = {"pages": {}, "offsite_requests": [], "axe_by_impact": {}}
