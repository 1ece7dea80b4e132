"""The params: syntax of hydra-optuna-sweeper read through Hydra's override grammar."""

from __future__ import annotations

import pytest

from dlzoo.errors import ConfigError
from dlzoo.sweeps.space import Dimension, override_value, parse_space


def test_each_form_becomes_its_dimension() -> None:
    space = parse_space(
        {
            "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
            "model.dropout": "interval(0, 0.5)",
            "model.hidden_size": "range(16, 128, 16)",
            "model.layers": "int(interval(1, 4))",
            "data.batch_size": "choice(32, 64)",
            "model.activation": "relu,gelu",
            "trainer.max_epochs": 3,
            "model.width": [8, 16],
            "model.step": "range(0.1, 0.5, 0.1)",
        }
    )
    assert list(space) == [
        *("optimizer.lr", "model.dropout", "model.hidden_size", "model.layers"),
        *("data.batch_size", "model.activation", "trainer.max_epochs", "model.width"),
        "model.step",
    ]
    assert space["optimizer.lr"] == Dimension("optimizer.lr", "float", 1e-4, 0.1, log=True)
    assert space["model.dropout"] == Dimension("model.dropout", "float", 0.0, 0.5)
    assert space["model.hidden_size"] == Dimension("model.hidden_size", "int", 16, 128, 16)
    assert space["model.layers"] == Dimension("model.layers", "int", 1, 4)
    assert space["data.batch_size"].choices == (32, 64)
    assert space["model.activation"].choices == ("relu", "gelu")
    assert space["trainer.max_epochs"] == Dimension(
        "trainer.max_epochs", "categorical", choices=(3,)
    )
    assert space["model.width"].choices == (8, 16)
    assert space["model.step"] == Dimension("model.step", "float", 0.1, 0.5, 0.1)
    assert isinstance(space["model.hidden_size"].low, int)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("interval(1", r"params\.x: cannot read 'interval\(1' .*write one of interval"),
        ("interval(2, 1)", r"params\.x: interval\(2\.0, 1\.0\) needs low < high"),
        ("range(5, 1)", r"params\.x: range\(5, 1, 1\) is empty"),
        ("tag(log, interval(0, 1))", r"needs 0 < low < high \(a log scale\)"),
    ],
)
def test_bad_syntax_names_the_key_and_the_fix(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_space({"x": value})


def test_a_space_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must map config keys to values, got list"):
        parse_space(["optimizer.lr"])  # type: ignore[arg-type]


def test_values_go_back_onto_a_command_line() -> None:
    assert [override_value(v) for v in (None, True, 0.5, "relu")] == [
        *("null", "true", "0.5", "relu")
    ]
