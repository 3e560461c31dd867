"""Natural English text available offline, for the language-model part of the training mix.

Sources (recorded with sha256 in the model card by `manifest()`):
  * every file under /usr/share/common-licenses (Debian's licence texts), and
  * the docstrings (module, class, function) of every top-level ``*.py`` file of the running
    Python's standard library (``os.path.dirname(os.__file__)``), extracted with ``ast``.

Nothing here comes from the evaluation generators (src/eval); see data.py for the task side.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
from pathlib import Path

LICENSE_DIR = Path("/usr/share/common-licenses")


def stdlib_dir() -> Path:
    return Path(os.path.dirname(os.__file__))


def source_files() -> list[Path]:
    files = sorted(p for p in LICENSE_DIR.iterdir() if p.is_file() and not p.is_symlink())
    files += sorted(stdlib_dir().glob("*.py"))
    return files


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc and len(doc) >= 80:
                out.append(doc)
    return out


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\t", " ")
    text = re.sub(r"[ ]{2,}", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def documents(snapshot: str = "") -> list[str]:
    """The corpus as a list of documents (one licence, or one docstring each).

    With `snapshot` (a file written by `corpus.py --snapshot`), the documents come from that
    file instead of this machine's files, so a run on another machine (a GPU host with another
    Python, whose stdlib docstrings differ) trains on exactly the same text.
    """
    if snapshot:
        with open(snapshot) as f:
            return json.load(f)["documents"]
    docs = []
    for p in source_files():
        if p.suffix == ".py":
            docs.extend(_clean(d) for d in _docstrings(p))
        else:
            docs.append(_clean(p.read_text(encoding="utf-8", errors="replace")))
    return [d for d in docs if d]


def manifest(snapshot: str = "") -> list[tuple[str, str, int]]:
    """(path, sha256, bytes) of every source file, for the model card."""
    if snapshot:
        with open(snapshot) as f:
            return [tuple(r) for r in json.load(f)["manifest"]]
    rows = []
    for p in source_files():
        data = p.read_bytes()
        rows.append((str(p), hashlib.sha256(data).hexdigest(), len(data)))
    return rows


def sentences(docs: list[str]) -> list[str]:
    """Prose-like sentences (for haystack filler): split on sentence ends, keep mid-sized ones."""
    out = []
    for d in docs:
        for s in re.split(r"(?<=[.!?])\s+", d.replace("\n", " ")):
            s = s.strip()
            if 30 <= len(s) <= 300 and s[0].isalpha() and not re.search(r"[{}<>|\\]{2,}", s):
                out.append(s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="Writes the corpus (documents + manifest) to one JSON file.")
    ap.add_argument("--snapshot", required=True, help="output file, read back by --corpus in train.py")
    a = ap.parse_args()
    rows, docs = manifest(), documents()
    with open(a.snapshot, "w") as f:
        json.dump({"manifest": rows, "documents": docs}, f)
    print(f"wrote {a.snapshot}: {len(docs)} documents from {len(rows)} files")


if __name__ == "__main__":
    main()
