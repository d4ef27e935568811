"""Shared pieces of the browser test: where things are, which pages, the summary."""

from __future__ import annotations

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
    """A chapter of the book proper: a notebook or page under chapters/."""
    return docname.startswith("chapters/")


# Numbers for the report, written to _build/site-test-report.json and printed at the end.
SUMMARY: dict = {"pages": {}, "offsite_requests": [], "axe_by_impact": {}}
