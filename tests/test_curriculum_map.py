"""The curriculum map names only things that exist, and every objective.

The map is the docs page ``docs/curriculum-map.md``: a table with one row per numbered
objective of lessons 1-7 of the curriculum (``../shared/000_76cd3ed9f3ddabae.txt``, where
there is one); each lesson page ends with the same rows for its lesson.
"""

from __future__ import annotations

import re

import pytest
from docs_text import (
    CURRICULUM_MAP,
    DOCS,
    GROUP_OPTION,
    ROOT,
    commands,
    groups,
    objective_rows,
    options,
)

CURRICULUM = ROOT.parent / "shared" / "000_76cd3ed9f3ddabae.txt"
LESSONS = range(1, 8)
# an objective number where the curriculum starts one: "1.8 Waarom", "2.1 - ...",
# "**1.10 wat" (and not a decimal inside a sentence, e.g. "0.5" or "1.0")
OBJECTIVE = re.compile(r"(?<![0-9.])([1-7])\.([1-9][0-9]?)(?= ?[-\u2013:]| \*| [A-Za-z*])")


def _map_section() -> str:
    assert CURRICULUM_MAP.is_file(), f"no curriculum map at {CURRICULUM_MAP}"
    return CURRICULUM_MAP.read_text()


def _rows() -> list[list[str]]:
    """The map table's rows as cells: number, objective, experiment, shown by, measured."""
    return objective_rows(_map_section())


def test_map_has_rows_with_five_cells() -> None:
    rows = _rows()
    assert len(rows) > 50
    assert all(len(row) == 5 for row in rows), [row[0] for row in rows if len(row) != 5]


def test_every_experiment_column_entry_exists() -> None:
    experiments = options("experiment")
    named = {name for row in _rows() for name in re.findall(r"`([^`]+)`", row[2])}
    assert named, "the map's experiment column names no experiment"
    assert sorted(named - experiments) == []


def test_every_named_config_option_exists() -> None:
    """``GROUP=NAME`` (``experiment=``, ``hparams_search=``, ``tune_space=``,
    ``trainer=``, ``model=``, ...) and ``init_from=EXPERIMENT`` anywhere in the map."""
    named = GROUP_OPTION.findall(_map_section())
    missing = []
    for group, name in named:
        group = "experiment" if group == "init_from" else group
        if group in groups() and name not in options(group):
            missing.append(f"{group}={name}")
    assert {group for group, _ in named} >= {"experiment", "hparams_search", "tune_space"}
    assert missing == []


def test_every_named_command_and_file_exists() -> None:
    section = _map_section()
    named = set(re.findall(r"\b(dlzoo-[a-z]+)\b", section))
    assert named, "the map names no dlzoo command"
    assert sorted(named - commands()) == []
    files = set(re.findall(r"`(?:python )?((?:scripts|dlzoo|conf)/[\w/]+\.(?:py|yaml))", section))
    missing = [f for f in files if not (ROOT / f).exists() and not (ROOT / "src" / f).exists()]
    assert missing == []


def test_each_lesson_page_has_its_rows_of_the_map() -> None:
    """``docs/lessons/lesson-N.md`` repeats the map's rows of lesson N, word for word."""
    rows = {row[0]: row for row in _rows()}
    for lesson in LESSONS:
        page = DOCS / "lessons" / f"lesson-{lesson}.md"
        got = {row[0]: row for row in objective_rows(page.read_text())}
        want = {number: row for number, row in rows.items() if number.split(".")[0] == str(lesson)}
        assert want, f"the map has no row of lesson {lesson}"
        assert got == want, f"{page.name} and the curriculum map differ"


def _objectives(text: str) -> dict[int, list[int]]:
    """Objective numbers per lesson, in the order the curriculum gives them."""
    found: dict[int, list[int]] = {lesson: [] for lesson in LESSONS}
    for match in OBJECTIVE.finditer(text):
        lesson, number = int(match.group(1)), int(match.group(2))
        if number not in found[lesson]:
            found[lesson].append(number)
    return found


def test_objective_parser_on_the_curriculum_layouts() -> None:
    text = "1.1 Wat tensors\n**1.8 Waarom** 2.1 - Verschillende 2.10 - bouwen. 0.5 en 1.0 x"
    assert _objectives(text) == {1: [1, 8], 2: [1, 10], 3: [], 4: [], 5: [], 6: [], 7: []}


@pytest.mark.skipif(not CURRICULUM.is_file(), reason=f"the curriculum is not at {CURRICULUM}")
def test_every_objective_of_lessons_1_to_7_is_in_the_map() -> None:
    text = CURRICULUM.read_text()
    found = _objectives(text)
    # the parse itself: each lesson's numbers run 1, 2, ... without a gap
    for lesson, numbers in found.items():
        assert numbers == list(range(1, len(numbers) + 1)), (lesson, numbers)
    assert all(found[lesson] for lesson in range(1, 7))
    mapped = {row[0] for row in _rows()}
    wanted = {f"{lesson}.{n}" for lesson, numbers in found.items() for n in numbers}
    # a lesson without numbered objectives (lesson 7) has one row for its subject
    assert re.search(r"^Les(son)? 7\b", text, re.I | re.M)
    wanted |= {str(lesson) for lesson, numbers in found.items() if not numbers}
    assert sorted(wanted - mapped) == []
    assert sorted(mapped - wanted) == []  # nothing mapped that the curriculum lacks
