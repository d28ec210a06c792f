#!/usr/bin/env python
"""Build the workshop notebooks in notebooks/ from their readable sources in notebooks/src/.

Each lesson is one jupytext "percent" file (``notebooks/src/NN_name.py``): ``# %%`` starts a code
cell, ``# %% [markdown]`` a text cell, and an exercise cell is marked ``# %% exercise="name"``.
Edit a source, then run ``.venv/bin/python scripts/build_notebooks.py``: the ``.ipynb`` files are
written with outputs stripped and stable cell ids, so that ``scripts/lab`` opens them.
tests/test_notebooks.py fails when a source and its notebook differ.
"""
import pathlib
import sys

import jupytext
import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
KEEP_METADATA = ("exercise",)          # cell metadata that survives the build


def sources():
    return sorted(SRC.glob("[0-9][0-9]_*.py"))


def to_notebook(path):
    """The notebook a source describes: no outputs, only the kept cell metadata, stable ids."""
    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_METADATA}
        cell["id"] = f"{path.stem[:2]}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return nb


def build(out_dir=OUT):
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources():
        path = out_dir / f"{src.stem}.ipynb"
        nbformat.write(to_notebook(src), str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build(sys.argv[1] if len(sys.argv) > 1 else OUT):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
