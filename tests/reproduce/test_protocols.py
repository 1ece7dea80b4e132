"""The protocol table: every shipped protocol composes, bad entries are one-line errors,
only= takes what a protocol compares against."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlzoo.config.overrides import check_overrides
from dlzoo.errors import ConfigError
from dlzoo.reproduce.protocols import Protocol, load_protocols, select


@pytest.mark.parametrize("budget", [False, True])
def test_every_shipped_protocol_composes(budget: bool) -> None:
    protocols = load_protocols()
    assert len({p.name for p in protocols}) == len(protocols) >= 10
    for protocol in protocols:
        cfg = check_overrides(protocol.command(budget))
        assert cfg is not None and cfg.task_name, protocol.name
        assert protocol.published is None or protocol.source, protocol.name


def test_the_command_line_of_a_protocol() -> None:
    p = Protocol(name="a", title="A", experiment="gunpoint_fcn", budget=["trainer.max_epochs=3"])
    assert p.command(budget=False) == ["experiment=gunpoint_fcn", "seeds=5"]
    assert p.command(budget=True)[-1] == "trainer.max_epochs=3"
    assert (
        p.tolerance == 0.02
        and Protocol(name="b", title="B", experiment="x", std=0.05).tolerance == 0.05
    )
    assert Protocol(name="c", title="C", experiment="x", seeds=1).command(False) == ["experiment=x"]


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "protocols.yaml"
    path.write_text("protocols:\n" + body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - {name: a, title: A, experiment: x, colour: red}\n", "unknown key 'colour'"),
        ("  - {name: a, title: A}\n", "missing 1 required positional argument: 'experiment'"),
        ("  - {name: a, title: A, experiment: x, seeds: 0}\n", "seeds=0 must be an integer"),
        ("  - {name: a, title: A, experiment: x, against: [b]}\n", "against='b' names no earlier"),
        ("  - {name: a, title: A, experiment: x, mode: up}\n", "mode is max or min"),
        (
            "  - {name: a, title: A, experiment: x, selection: best_mean_epoch}\n",
            "best_mean_epoch is one cross-validation",
        ),
        ("  - {name: a, title: A, experiment: x}\n" * 2, "another protocol is named 'a'"),
        ("  - [a, b]\n", "a protocol is a mapping"),
    ],
)
def test_a_bad_protocol_is_one_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_protocols(_file(tmp_path, body))
    assert "\n" not in str(info.value) and "protocols[" in str(info.value)


def test_only_takes_the_protocols_compared_against(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "  - {name: a, title: A, experiment: x}\n"
        "  - {name: b, title: B, experiment: x, against: [a]}\n"
        "  - {name: c, title: C, experiment: x, against: [b]}\n"
        "  - {name: d, title: D, experiment: x}\n",
    )
    protocols = load_protocols(path)
    assert [p.name for p in select(protocols, "c")] == ["a", "b", "c"]
    assert [p.name for p in select(protocols, "d, a")] == ["a", "d"]
    assert len(select(protocols, "")) == 4
    with pytest.raises(ConfigError, match=r"only='e' is no protocol; valid: a, b, c, d"):
        select(protocols, "e")
    with pytest.raises(ConfigError, match="no protocol file"):
        load_protocols(tmp_path / "missing.yaml")
