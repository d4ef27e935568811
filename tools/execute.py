"""Execute the book's notebooks in parallel, into Jupyter Book's execution cache.

``jupyter-book build`` with ``execute_notebooks: cache`` executes each notebook
whose code is not in its cache, one after another. This script fills the same
cache first, running the stale notebooks on a pool of worker processes (the
longest first, by their last recorded run time), so that the build that follows
finds every notebook cached and only renders. A notebook is executed exactly as
the build would: its own folder as the working directory, the timeout of
``_config.yml``, and an error in any cell is a failure.

With ``--stored``, nothing is executed: every notebook enters the cache with
the outputs stored in it. ``make test`` does this right after nbval has
executed every notebook and found that its stored outputs reproduce, so that
the site it then builds shows exactly the outputs nbval checked.

Usage::

    python tools/execute.py [--jobs N] [--stored] [--book .] [--cache _build/.jupyter_cache]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parents[1]


def book_notebooks(book: Path) -> list[Path]:
    """The ``.ipynb`` files of the book's table of contents, in its order."""
    toc = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    files.append(node[key])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [book / f"{name}.ipynb" for name in files if (book / f"{name}.ipynb").exists()]


def _execute(path: str, timeout: int) -> tuple[str, nbformat.NotebookNode, float, str | None]:
    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(notebook, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=False, meta_override=True)
    return path, notebook, result.time, result.exc_string if result.err else None


def _stored(path: str, timeout: int) -> tuple[str, nbformat.NotebookNode, float, None]:
    return path, nbformat.read(path, as_version=4), 0.0, None


def execute_into_cache(book: Path, cache_path: Path, jobs: int, *,
                       stored: bool = False) -> list[Path]:
    """Execute the stale notebooks of `book` into the cache at `cache_path`.

    With `stored`, cache every notebook with its stored outputs instead.
    Returns the notebooks cached. Raises ``SystemExit`` naming every notebook
    whose execution failed.
    """
    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    timeout = int(config.get("execute", {}).get("timeout", 30))
    cache = get_cache(str(cache_path))
    last_run = {record.uri: record.data.get("execution_seconds", 0.0)
                for record in cache.list_cache_records()}
    stale = []
    for path in book_notebooks(book):
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
            # The cache does not see edits to klbook: with `stored`, the outputs nbval has
            # just checked replace any older execution of the same code.
            if stored:
                stale.append(path)
        except KeyError:
            stale.append(path)
    stale.sort(key=lambda p: last_run.get(str(p), float("inf")), reverse=True)
    failures = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_stored if stored else _execute, str(path), timeout)
                   for path in stale]
        for future in as_completed(futures):
            path, notebook, seconds, error = future.result()
            if error:
                failures.append(f"{path}:\n{error}")
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, path, data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            if not stored:
                print(f"executed {Path(path).relative_to(book)} in {seconds:.1f} s", flush=True)
    if failures:
        raise SystemExit("execution failed:\n" + "\n".join(failures))
    return stale


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=ROOT)
    parser.add_argument("--cache", type=Path,
                        help="the execution cache (default: BOOK/_build/.jupyter_cache)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--stored", action="store_true",
                        help="cache the stored outputs, without executing (after nbval)")
    args = parser.parse_args(argv)
    book = args.book.resolve()
    start = time.perf_counter()
    stale = execute_into_cache(book, (args.cache or book / "_build" / ".jupyter_cache"),
                               args.jobs, stored=args.stored)
    if args.stored:
        print(f"{len(stale)} notebooks cached with their stored outputs", file=sys.stderr)
    else:
        print(f"{len(stale)} notebooks executed on {args.jobs} workers in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
