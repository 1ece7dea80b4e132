"""What the doc tests read: the README and the MkDocs pages, their tables, and the
names they may use (console scripts and config options)."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

from dlzoo.config.compose import CONFIG_DIR

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CURRICULUM_MAP = DOCS / "curriculum-map.md"
# GROUP=OPTION as the docs write it: `model=gru`, `data@data.base=digits`; not a key
# inside a group (`model.pooling=cls`) nor part of a longer name (`hydra/launcher=joblib`)
GROUP_OPTION = re.compile(r"(?<![\w.@/])([a-z_]+)(?:@[\w.]+)?=([a-z][a-z0-9_]*)\b")


def doc_files() -> list[Path]:
    """README.md and every page of the site."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def options(group: str) -> set[str]:
    """The options of a config group: its YAML files."""
    return {p.stem for p in (CONFIG_DIR / group).glob("*.yaml")}


def groups() -> set[str]:
    return {p.name for p in CONFIG_DIR.iterdir() if p.is_dir()}


def commands() -> set[str]:
    """The console scripts pyproject.toml installs."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(pyproject["project"]["scripts"])


def cells(line: str) -> list[str]:
    """The cells of one Markdown table row (an escaped ``\\|`` stays inside its cell)."""
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [cell.strip() for cell in parts]


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text``: the header row first, the rule row left out."""
    found: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            if not re.fullmatch(r"[|\s:-]+", line):
                rows.append(cells(line))
        elif rows:
            found.append(rows)
            rows = []
    return found


def objective_rows(text: str) -> list[list[str]]:
    """The curriculum rows of ``text``: number, objective, experiment, shown by, measured."""
    return [
        row for table in tables(text) for row in table[1:] if re.fullmatch(r"\d(\.\d+)?", row[0])
    ]


def code_blocks(text: str, language: str) -> list[str]:
    """The bodies of the fenced code blocks of ``language`` (```` ```bash ````) in ``text``."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def command_lines(text: str, program: str) -> list[str]:
    """The lines of ``text``'s bash blocks that run ``program`` (after any ``VAR=value``
    assignments), comments after ``#`` left out."""
    found = []
    for block in code_blocks(text, "bash"):
        for line in block.splitlines():
            words = line.split("  #")[0].strip()
            if re.match(rf"(?:\w+=\S+ )*{re.escape(program)}\b", words):
                found.append(words)
    return found


def named_files(text: str) -> dict[str, str]:
    """The code blocks whose first line names a file (``# my_nets.py``): path -> text."""
    files = {}
    for block in re.findall(r"^```\w+\n(.*?)^```", text, re.M | re.S):
        first = block.splitlines()[0] if block.strip() else ""
        match = re.fullmatch(r"# ([\w./-]+\.(?:py|yaml))", first.strip())
        if match:
            files[match.group(1)] = block
    return files
