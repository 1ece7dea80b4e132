"""The README and the MkDocs site name only commands, config options, files and pages
that exist, and the site builds with ``mkdocs build --strict``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docs_text import (
    CONFIG_DIR,
    DOCS,
    GROUP_OPTION,
    ROOT,
    commands,
    doc_files,
    groups,
    options,
    tables,
)

# [text](target): a Markdown link; images too
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# a path into the repository: `src/dlzoo/...`, `scripts/x.py`, `tests/...`, `dlzoo/...`,
# `notebooks/lesson_1_x.py`
REPO_PATH = re.compile(r"(?<![\w/.$~-])((?:src/dlzoo|scripts|tests|dlzoo|notebooks)/[\w/.-]*[\w/])")
# an option the docs show as a mistake: "error: unknown model option 'cnnn'"
SHOWN_UNKNOWN = re.compile(r"unknown \w+ option '(\w+)'")
# options a page makes: a config file of the reader's own, a net registered by name
OWN_OPTION = re.compile(r"^# [\w.-]+/(\w+)/(\w+)\.yaml$", re.M)
REGISTERED = re.compile(r"register_model\(\"(\w+)\"\)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_docs_are_there() -> None:
    names = {_rel(p) for p in doc_files()}
    assert {"README.md", "docs/index.md", "docs/curriculum-map.md"} <= names
    assert {f"docs/lessons/lesson-{n}.md" for n in range(1, 8)} <= names
    assert (ROOT / "mkdocs.yml").is_file()


def test_the_readme_starts_with_the_two_make_commands() -> None:
    text = _text(ROOT / "README.md")
    first_block = re.search(r"```\w*\n(.*?)```", text, re.S)
    assert first_block, "README.md has no code block"
    assert re.search(r"^make train\b", first_block.group(1), re.M)
    assert re.search(r"^make test\b", first_block.group(1), re.M)
    assert len(text.splitlines()) < 300, "README.md is a front page; the rest goes to docs/"


def test_every_named_command_exists() -> None:
    scripts = commands()
    missing = {}
    for path in doc_files():
        unknown = set(re.findall(r"\b(dlzoo-[a-z]+)\b", _text(path))) - scripts
        if unknown:
            missing[_rel(path)] = sorted(unknown)
    assert missing == {}


def _named_options(text: str) -> list[tuple[str, str]]:
    """``(group, option)`` for every ``GROUP=OPTION`` of a config group in ``text``.

    ``init_from=NAME`` names an experiment. Lines that add a config folder of the
    reader's own (``hydra.searchpath=...``), options the text shows as a typo (in
    an ``unknown ... option 'NAME'`` error) and options the text makes (a file
    ``# my_conf/model/tiny.yaml``, a net ``@register_model("tiny")``) are left out.
    """
    shown_unknown = set(SHOWN_UNKNOWN.findall(text))
    known_groups = groups()
    made_here = set(OWN_OPTION.findall(text)) | {("model", n) for n in REGISTERED.findall(text)}
    named = []
    for line in text.splitlines():
        if "hydra.searchpath" in line:
            continue
        for group, name in GROUP_OPTION.findall(line):
            group = "experiment" if group == "init_from" else group
            if group in known_groups and name not in shown_unknown:
                named.append((group, name))
    return [pair for pair in named if pair not in made_here]


def test_every_named_config_option_exists() -> None:
    seen: set[str] = set()
    missing = {}
    for path in doc_files():
        named = _named_options(_text(path))
        seen |= {group for group, _ in named}
        wrong = sorted({f"{g}={n}" for g, n in named if n not in options(g)})
        if wrong:
            missing[_rel(path)] = wrong
    assert missing == {}
    # the check reads what the docs write: every kind of group is named somewhere
    assert seen >= {
        "experiment", "data", "model", "task", "optimizer", "scheduler", "trainer",
        "callbacks", "logger", "debug", "transfer", "hparams_search", "tune_space",
    }  # fmt: skip


def test_the_option_check_reads_the_forms_the_docs_use() -> None:
    text = (
        "`experiment=digits_cnn model=gru` `data@data.base=digits` `init_from=mnist_vae`\n"
        "`model.pooling=cls` `hydra/launcher=joblib` `task.loss=mse` `model=cnnn`\n"
        "error: unknown model option 'cnnn': choose one of cnn\n"
        "dlzoo-train hydra.searchpath=[file://$PWD/my_conf] model=tiny\n"
        '# my_conf/data/mine.yaml\n@register_model("tiny")\n`data=mine` `model=tiny`\n'
    )
    assert _named_options(text) == [
        ("experiment", "digits_cnn"),
        ("model", "gru"),
        ("data", "digits"),
        ("experiment", "mnist_vae"),
    ]


def test_every_experiment_column_names_experiments() -> None:
    """In a table with an ``experiment`` (or ``experiments``) column, each cell's
    backticked names (the first word of each) are experiments."""
    experiments = options("experiment")
    missing = {}
    for path in doc_files():
        for table in tables(_text(path)):
            header = [cell.lower() for cell in table[0]]
            columns = [i for i, cell in enumerate(header) if cell in {"experiment", "experiments"}]
            for column in columns:
                for row in table[1:]:
                    words = [code.split()[0] for code in re.findall(r"`([^`]+)`", row[column])]
                    names = {w for w in words if re.fullmatch(r"[a-z][a-z0-9_]*", w)}
                    if names - experiments:
                        missing.setdefault(_rel(path), set()).update(names - experiments)
    assert missing == {}


def test_every_named_repository_path_exists() -> None:
    missing = {}
    for path in doc_files():
        for named in set(REPO_PATH.findall(_text(path))):
            where = ROOT / "src" / named if named.startswith("dlzoo/") else ROOT / named
            if not where.exists():
                missing.setdefault(_rel(path), []).append(named)
    assert missing == {}


def test_every_option_is_documented() -> None:
    """The config-tree page lists every option of every group (the callbacks that
    ``callbacks=default`` composes are its parts, not options), and a lesson page names
    every experiment."""
    page = _text(DOCS / "guides" / "config-tree.md")
    rows = {row[0].strip("`"): row[1] for table in tables(page) for row in table[1:]}
    parts = set(re.findall(r"^\s*- (\w+)$", _text(CONFIG_DIR / "callbacks" / "default.yaml"), re.M))
    unlisted = {}
    for group in sorted(groups() - {"experiment", "hydra", "paths"}):
        listed = set(re.findall(r"`([a-z][a-z0-9_]*)`", rows.get(group, "")))
        wanted = options(group) - (parts if group == "callbacks" else set())
        if wanted - listed:
            unlisted[group] = sorted(wanted - listed)
    assert unlisted == {}
    lessons = "".join(_text(p) for p in sorted((DOCS / "lessons").glob("lesson-*.md")))
    named = set(re.findall(r"\b[a-z][a-z0-9_]*\b", lessons))
    assert sorted(options("experiment") - named) == []


def _targets(text: str) -> list[str]:
    """The relative link targets of ``text``, outside code blocks and code spans."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return [
        target
        for target in LINK.findall(prose)
        if not re.match(r"[a-z][a-z0-9+.-]*:|#", target)  # a URL, mailto:, an anchor
    ]


def test_every_relative_link_resolves() -> None:
    """README links may point anywhere in the repository; a page of the site only
    inside docs/ (MkDocs serves nothing else)."""
    broken = {}
    for path in doc_files():
        for target in _targets(_text(path)):
            file = (path.parent / target.split("#")[0]).resolve()
            inside = ROOT if path.parent == ROOT else DOCS
            if not file.exists() or not file.is_relative_to(inside):
                broken.setdefault(_rel(path), []).append(target)
    assert broken == {}


def test_the_link_check_reads_links_and_skips_code() -> None:
    text = "[a](x.md) [b](y.md#z) [c](https://e.invalid) [d](#top) `[e](f.md)`\n```\n[g](h.md)\n```"
    assert _targets(text) == ["x.md", "y.md#z"]


def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    """The whole site, the API reference included, with every warning an error: a
    broken link or anchor, a page missing from the nav, a docstring mkdocstrings cannot
    read."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("material")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "index.html").is_file()
    for n in range(1, 8):
        assert (site / "lessons" / f"lesson-{n}" / "index.html").is_file()
    # the reference is generated from the docstrings, not left empty
    assert 'id="dlzoo.run.build.build"' in (site / "reference" / "run" / "index.html").read_text()
    assert seconds < 60, f"mkdocs build took {seconds:.0f} s"
