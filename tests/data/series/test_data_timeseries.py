"""Forecasting datamodules: chronological split, windows as views, train-only scaling."""

from __future__ import annotations

import functools
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from hydra.utils import get_class, instantiate
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from torch import nn

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.data.series.csv_files import CSVSeriesDataModule
from dlzoo.data.series.packaged import AirlineDataModule, CO2DataModule, SunspotsDataModule
from dlzoo.data.series.windowed import WindowedSeriesDataModule
from dlzoo.data.series.windows import chronological_bounds
from dlzoo.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[3]
STAGES = ("train", "val", "test")


class ArraySeries(WindowedSeriesDataModule):
    """A given array as the series."""

    name = "array"

    def __init__(
        self,
        values: Any,
        columns: list[str] | None = None,
        stamps: Any = None,
        window: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(window=window, **kwargs)
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim == 1:
            self.values = self.values[:, None]
        self.names = columns or [f"c{i}" for i in range(self.values.shape[1])]
        self.stamps = stamps

    def load(self) -> tuple[np.ndarray, list[str], Any]:
        return self.values, self.names, self.stamps


def ready(values: Any, **kwargs: Any) -> ArraySeries:
    dm = ArraySeries(values, **kwargs)
    dm.setup("fit")
    return dm


def steps(dm: WindowedSeriesDataModule) -> np.ndarray:
    """The whole (scaled) series, parts joined back in time order."""
    return torch.cat([dm.parts[s] for s in STAGES]).numpy()


# ---------------------------------------------------------------------- windows


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(2, 300),
    window=st.integers(1, 30),
    horizon=st.integers(1, 8),
    stride=st.integers(1, 6),
    val_fraction=st.floats(0.05, 0.45),
    test_fraction=st.floats(0.05, 0.45),
)
def test_no_window_crosses_a_split_and_targets_follow_inputs(
    length: int, window: int, horizon: int, stride: int, val_fraction: float, test_fraction: float
) -> None:
    # each time step's value is its own index, so a window shows which steps it holds
    dm = ArraySeries(
        np.arange(length), window=window, horizon=horizon, stride=stride, scaler="none",
        val_fraction=val_fraction, test_fraction=test_fraction,
    )  # fmt: skip
    bounds = chronological_bounds(length, val_fraction, test_fraction)
    need = window + horizon
    if need > length:
        with pytest.raises(ConfigError, match="longer than the whole series"):
            dm.setup()
        return
    short = [s for s, (a, b) in bounds.items() if b - a < need]
    if short:
        with pytest.raises(ConfigError, match=f"the {short[0]} part has"):
            dm.setup()
        return
    dm.setup()
    assert dm.split_bounds == bounds
    assert bounds["train"][0] == 0 and bounds["test"][1] == length
    assert bounds["train"][1] == bounds["val"][0] and bounds["val"][1] == bounds["test"][0]
    for stage, (start, stop) in bounds.items():
        x, y = dm.tensors[stage]
        n = (stop - start - need) // stride + 1
        assert x.shape == (n, window, 1) and y.shape == (n, horizon, 1)
        first = start + stride * np.arange(n)[:, None]
        np.testing.assert_array_equal(x[..., 0].numpy(), first + np.arange(window))
        # targets: the horizon steps right after the last input step
        np.testing.assert_array_equal(
            y[..., 0].numpy(), x[:, -1:, 0].numpy() + 1 + np.arange(horizon)
        )
        assert x.min() >= start and y.max() < stop


def test_chronological_bounds_round_each_boundary_half_up() -> None:
    assert chronological_bounds(10, 0.15, 0.15) == {
        "train": (0, 7), "val": (7, 9), "test": (9, 10),
    }  # fmt: skip
    # 309 * 0.7 = 216.3 and 309 * 0.85 = 262.65
    assert chronological_bounds(309, 0.15, 0.15)["val"] == (216, 263)
    assert chronological_bounds(4, 0.25, 0.25) == {"train": (0, 2), "val": (2, 3), "test": (3, 4)}


def test_windows_are_views_of_their_part() -> None:
    dm = ready(np.arange(100), window=5, horizon=2, scaler="none")
    for stage in STAGES:
        part = dm.parts[stage]
        assert part.is_contiguous() and part.dtype == torch.float32
        for t in dm.tensors[stage]:
            assert t.untyped_storage().data_ptr() == part.untyped_storage().data_ptr()
    # a view sees a write to its part: no window was copied
    x, y = dm.tensors["val"]
    dm.parts["val"][6] = -1.0
    assert x[6, 0, 0] == -1 and x[2, 4, 0] == -1 and y[1, 0, 0] == -1


def test_loader_serves_every_window_once_per_epoch() -> None:
    dm = ready(np.arange(400), window=4, horizon=1, stride=2, batch_size=16, scaler="none")
    train = dm.train_dataloader()
    assert isinstance(train, TensorBatchLoader)
    n = len(dm.tensors["train"][0])  # (280 - 5) // 2 + 1 = 138, so no batch of one
    assert n == 138 and not train.drop_last
    for _ in range(2):
        firsts = torch.cat([x[:, 0, 0] for x, _ in train])
        assert sorted(firsts.tolist()) == list(range(0, 2 * n, 2))
        assert not torch.equal(firsts, firsts.sort().values)  # shuffled
    val = dm.val_dataloader()
    assert val.batch_size == 64 and not val.shuffle
    firsts = torch.cat([x[:, 0, 0] for x, _ in val])
    assert torch.equal(firsts, torch.arange(280, 280 + 2 * len(firsts), 2, dtype=torch.float32))
    x, y = next(iter(val))
    assert torch.equal(y[:, 0, 0], x[:, -1, 0] + 1)  # batches keep each pair together


def test_last_training_batch_of_one_window_is_dropped() -> None:
    # 70 training steps, window 4 + horizon 1: 66 windows = 2 x 32 + 2, then 65 = 2 x 32 + 1
    assert not ready(np.arange(100), window=4, batch_size=32).train_dataloader().drop_last
    loader = ready(np.arange(100), window=5, batch_size=32).train_dataloader()
    assert loader.drop_last and len(loader) == 2


def test_gather_chunks_are_bounded_in_bytes() -> None:
    dm = ready(np.zeros((400, 3)), window=50, horizon=10, batch_size=256, scaler="none")
    loader = dm.train_dataloader()
    batch_bytes = 256 * (50 * 3 + 10 * 3) * 4
    expected = TensorBatchLoader.CHUNK_BYTES // batch_bytes
    assert loader.chunk_batches() == expected < TensorBatchLoader.CHUNK_BATCHES


# ---------------------------------------------------------------------- scaling


def test_scaler_is_fitted_on_the_training_part_only() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(5.0, 3.0, size=(200, 2))
    changed = values.copy()
    changed[140:] = changed[140:] * 1000 + 5e4  # everything after the training part
    a, b = ready(values), ready(changed)
    assert a.split_bounds["train"] == (0, 140)
    np.testing.assert_array_equal(a.offset, b.offset)
    np.testing.assert_array_equal(a.scale, b.scale)
    np.testing.assert_array_equal(a.mase_scale, b.mase_scale)
    np.testing.assert_allclose(a.offset, values[:140].mean(axis=0))
    train = a.parts["train"].double()
    np.testing.assert_allclose(train.mean(dim=0).numpy(), 0, atol=1e-6)
    np.testing.assert_allclose(train.std(dim=0, unbiased=False).numpy(), 1, atol=1e-5)
    # the other parts use the training statistics
    expected = (values[140:170] - values[:140].mean(axis=0)) / values[:140].std(axis=0)
    np.testing.assert_allclose(a.parts["val"].numpy(), expected, rtol=1e-5)


def test_minmax_scaler_maps_the_training_range_to_0_1() -> None:
    dm = ready([3.0, 7.0, 5.0, 4.0, 11.0, 6.0, 2.0, 20.0, -5.0, 8.0], scaler="minmax", window=1,
               val_fraction=0.2, test_fraction=0.2)  # fmt: skip
    assert dm.task_kwargs()["target_offset"] == [3.0]
    assert dm.task_kwargs()["target_scale"] == [8.0]
    np.testing.assert_allclose(steps(dm)[:, 0], [0, 0.5, 0.25, 0.125, 1, 0.375, -0.125, 2.125,
                                                 -1, 0.625])  # fmt: skip


def test_constant_column_is_shifted_not_divided_by_zero() -> None:
    dm = ready(np.full(20, 4.0))
    assert dm.task_kwargs()["target_scale"] == [1.0]
    assert torch.all(dm.parts["test"] == 0)


def test_mase_scale_offset_and_scale_by_hand() -> None:
    # 10 steps, train = the first 6: [1, 3, 2, 5, 5, 1]; differences 2, 1, 3, 0, 4
    first = [1.0, 3.0, 2.0, 5.0, 5.0, 1.0, 100.0, -50.0, 7.0, 8.0]
    values = np.stack([first, np.multiply(first, 2)], axis=1)
    dm = ready(values, window=1, val_fraction=0.2, test_fraction=0.2)
    assert dm.split_bounds["train"] == (0, 6)
    kwargs = dm.task_kwargs()
    assert set(kwargs) == {"target_offset", "target_scale", "mase_scale"}
    np.testing.assert_allclose(kwargs["mase_scale"], [2.0, 4.0])
    # mean 17 / 6; squared deviations sum to 101 / 6
    np.testing.assert_allclose(kwargs["target_offset"], [17 / 6, 17 / 3])
    np.testing.assert_allclose(kwargs["target_scale"], [np.sqrt(101 / 36), 2 * np.sqrt(101 / 36)])
    assert all(isinstance(v, float) for vs in kwargs.values() for v in vs)


@pytest.mark.parametrize("scaler", ["standard", "minmax", "none"])
def test_inverse_transform_recovers_the_original_targets(scaler: str) -> None:
    values = np.stack([np.arange(40) ** 1.5, np.cos(np.arange(40))], axis=1)
    dm = ready(values, window=3, horizon=2, scaler=scaler, target_columns=["c1"])
    kwargs = dm.task_kwargs()
    for stage, (start, _) in dm.split_bounds.items():
        y = dm.tensors[stage][1]  # (N, 2, 1): column c1 of steps start + i + 3, + 4
        original = dm.inverse_transform_targets(y)
        expected = values[start + 3 + np.arange(len(y))[:, None] + np.arange(2), 1]
        np.testing.assert_allclose(original[..., 0].numpy(), expected, atol=1e-5)
        manual = y * torch.tensor(kwargs["target_scale"]) + torch.tensor(kwargs["target_offset"])
        torch.testing.assert_close(manual, original)


# ---------------------------------------------------------------------- missing values

GAPS = [np.nan, 4, 1, np.nan, np.nan, 7, 2, 2, np.nan, 5, 6, np.nan]


def test_missing_values_without_impute_say_how_many_and_where() -> None:
    stamps = pd.date_range("2020-01-01", periods=12, freq="D")
    values = np.stack([GAPS, np.arange(12.0)], axis=1)
    values[2, 1] = np.nan
    dm = ArraySeries(values, columns=["load", "temp"], stamps=stamps)
    with pytest.raises(DataError) as info:
        dm.setup()
    message = str(info.value)
    assert "6 missing values" in message and "'load' (5), 'temp' (1)" in message
    assert "2020-01-01 (step 0), 2020-01-03 (step 2), 2020-01-04 (step 3), ..." in message
    assert "data.impute=interpolate|ffill|drop" in message and "\n" not in message


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("interpolate", [4, 4, 1, 3, 5, 7, 2, 2, 3.5, 5, 6, 6]),
        ("ffill", [4, 4, 1, 1, 1, 7, 2, 2, 2, 5, 6, 6]),
    ],
)
def test_impute_fills_each_gap(mode: str, expected: list[float]) -> None:
    dm = ready(GAPS, window=1, impute=mode, scaler="none", val_fraction=0.25, test_fraction=0.25)
    np.testing.assert_array_equal(steps(dm)[:, 0], expected)


def test_impute_drop_removes_the_steps_and_their_time_stamps() -> None:
    values = np.arange(20.0)[:, None].repeat(2, axis=1)
    values[[3, 10], 0] = np.nan
    values[15, 1] = np.nan
    stamps = pd.Index(np.arange(2000, 2020), name="year")
    dm = ready(values, stamps=stamps, impute="drop", scaler="none", window=1)
    kept = [t for t in range(20) if t not in (3, 10, 15)]
    np.testing.assert_array_equal(steps(dm)[:, 0], kept)
    assert sum(b - a for a, b in dm.split_bounds.values()) == 17
    joined = np.concatenate([dm.time_index[s] for s in STAGES])
    np.testing.assert_array_equal(joined, 2000 + np.asarray(kept))


def test_a_column_without_values_cannot_be_imputed() -> None:
    values = np.stack([np.arange(10.0), np.full(10, np.nan)], axis=1)
    with pytest.raises(DataError, match="column 'c1' has no values"):
        ready(values, impute="interpolate")


def test_infinite_values_are_a_data_error() -> None:
    with pytest.raises(DataError, match="1 infinite value"):
        ready([1.0, 2.0, np.inf, *range(20)])


# ---------------------------------------------------------------------- config errors


def test_window_longer_than_the_series_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"10 \+ 3 = 13 is longer than the whole series \(12"):
        ready(np.arange(12), window=10, horizon=3)


def test_a_part_too_short_for_one_window_is_a_config_error() -> None:
    # 100 steps: val = steps 70 .. 84 (15 steps) < window 12 + horizon 4
    with pytest.raises(ConfigError) as info:
        ready(np.arange(100), window=12, horizon=4)
    message = str(info.value)
    assert "the val part has 15 time steps, fewer than window + horizon = 16" in message
    assert "data.window" in message and "data.val_fraction" in message


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": 0}, "data.window=0"),
        ({"horizon": 1.5}, "data.horizon=1.5"),
        ({"stride": -1}, "data.stride=-1"),
        ({"scaler": "robust"}, "data.scaler='robust'"),
        ({"impute": "mean"}, "data.impute='mean'"),
        ({"val_fraction": 0.6, "test_fraction": 0.4}, "sum to less than 1"),
        ({"target_columns": []}, "names no target"),
    ],
)
def test_bad_config_values_fail_at_construction(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ArraySeries(np.arange(50), **{"window": 2, **kwargs})


def test_facts_before_setup_are_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="setup"):
        ArraySeries(np.arange(50)).net_kwargs()


# ---------------------------------------------------------------------- multivariate


def test_target_columns_come_first_and_y_holds_only_them() -> None:
    t = np.arange(60.0)
    values = np.stack([t, 100 + t, 1000 + t], axis=1)
    dm = ready(values, columns=["a", "b", "c"], window=4, horizon=3, target_columns=["c", "a"],
               scaler="none")  # fmt: skip
    assert dm.columns == ["c", "a", "b"] and dm.target_names == ["c", "a"]
    assert dm.net_kwargs() == {"input_size": 3, "output_size": 2, "window": 4, "horizon": 3}
    assert len(dm.task_kwargs()["mase_scale"]) == 2
    x, y = dm.tensors["train"]
    assert x.shape[1:] == (4, 3) and y.shape[1:] == (3, 2)
    np.testing.assert_array_equal(x[0].numpy(), values[:4][:, [2, 0, 1]])
    np.testing.assert_array_equal(y[0].numpy(), values[4:7][:, [2, 0]])


def test_unknown_target_column_lists_the_columns() -> None:
    with pytest.raises(ConfigError, match=r"names 'z'.*its columns are a, b"):
        ready(np.zeros((30, 2)), columns=["a", "b"], target_columns=["z"])


def test_save_split_records_bounds_and_scaler(tmp_path: Path) -> None:
    dm = ready(np.stack([np.arange(40.0), np.arange(40.0) ** 2], axis=1), columns=["a", "b"],
               target_columns=["b"], seed=7)  # fmt: skip
    saved = np.load(dm.save_split(tmp_path / "run" / "split.npz"))
    for stage in STAGES:
        assert tuple(saved[stage]) == dm.split_bounds[stage]
    np.testing.assert_array_equal(saved["offset"], dm.offset)
    np.testing.assert_array_equal(saved["scale"], dm.scale)
    assert list(saved["columns"]) == ["b", "a"] and int(saved["n_targets"]) == 1
    assert str(saved["scaler"]) == "standard" and int(saved["seed"]) == 7


# ---------------------------------------------------------------------- datasets


@functools.cache
def dataset(cls: type, **kwargs: Any) -> WindowedSeriesDataModule:
    dm = cls(**kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


@pytest.mark.parametrize(
    ("cls", "kwargs", "length", "window", "first", "last"),
    [
        (SunspotsDataModule, {}, 309, 11, 1700, 2008),
        (AirlineDataModule, {}, 144, 12, pd.Timestamp("1949-01-01"), pd.Timestamp("1960-12-01")),
        (CO2DataModule, {"impute": "interpolate"}, 2284, 52, pd.Timestamp("1958-03-29"),
         pd.Timestamp("2001-12-29")),
    ],
)  # fmt: skip
def test_offline_datasets_load_with_their_documented_lengths(
    cls: type, kwargs: dict, length: int, window: int, first: Any, last: Any
) -> None:
    dm = dataset(cls, **kwargs)
    assert sum(b - a for a, b in dm.split_bounds.values()) == length
    assert dm.time_index["train"][0] == first and dm.time_index["test"][-1] == last
    assert dm.net_kwargs() == {"input_size": 1, "output_size": 1, "window": window, "horizon": 1}
    kwargs_ = dm.task_kwargs()
    assert set(kwargs_) == {"target_offset", "target_scale", "mase_scale"}
    assert all(len(v) == 1 and v[0] > 0 for v in kwargs_.values())
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (32, window, 1) and y.shape == (32, 1, 1) and x.dtype == torch.float32
    assert all(torch.isfinite(dm.parts[s]).all() for s in STAGES)


def test_sunspots_values_and_naive_scale() -> None:
    from statsmodels.datasets import sunspots

    raw = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    dm = dataset(SunspotsDataModule)
    assert raw[0] == 5.0 and dm.split_bounds["train"] == (0, 216)
    np.testing.assert_allclose(dm.mase_scale, [np.abs(np.diff(raw[:216])).mean()])
    restored = dm.inverse_transform_targets(dm.parts["test"][:, :1]).numpy()[:, 0]
    np.testing.assert_allclose(restored, raw[263:], rtol=1e-5)


def test_co2_without_impute_reports_its_59_gaps() -> None:
    with pytest.raises(DataError, match=r"59 missing values .* 1958-05-10 \(step 6\)"):
        CO2DataModule().setup()


# ---------------------------------------------------------------------- CSV


def write_csv(path: Path, rows: int = 40) -> Path:
    frame = pd.DataFrame({
        "date": pd.date_range("2021-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
        "load": np.arange(rows, dtype=float) * 2,
        "temp": np.sin(np.arange(rows)),
    })  # fmt: skip
    frame.to_csv(path, index=False)
    return path


def test_csv_series_with_time_column_and_targets(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "series.csv")
    dm = CSVSeriesDataModule(path, ["temp", "load"], window=5, time_column="date",
                             target_columns=["load"], scaler="none")  # fmt: skip
    dm.setup()
    assert dm.columns == ["load", "temp"]
    assert dm.net_kwargs() == {"input_size": 2, "output_size": 1, "window": 5, "horizon": 1}
    assert isinstance(dm.time_index["train"], pd.DatetimeIndex)
    assert dm.time_index["val"][0] == pd.Timestamp("2021-01-29")  # step 28 = 40 * 0.7
    x, y = dm.tensors["train"]
    np.testing.assert_array_equal(y[:3, 0, 0].numpy(), [10.0, 12.0, 14.0])
    np.testing.assert_allclose(x[0, :, 1].numpy(), np.sin(np.arange(5)), atol=1e-6)


def test_csv_one_column_by_name(tmp_path: Path) -> None:
    dm = CSVSeriesDataModule(write_csv(tmp_path / "s.csv"), "load", window=3)
    dm.setup()
    assert dm.columns == ["load"] and dm.time_index is None


def test_csv_errors(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv")
    with pytest.raises(ConfigError, match=r"set data\.path="):
        CSVSeriesDataModule(None, ["load"], window=3).setup()
    with pytest.raises(DataError, match="does not exist"):
        CSVSeriesDataModule(tmp_path / "nope.csv", ["load"], window=3).setup()
    with pytest.raises(DataError, match="no column 'pressure'; its columns are date, load, temp"):
        CSVSeriesDataModule(path, ["load", "pressure"], window=3).setup()
    with pytest.raises(DataError, match=r"no column 'when'.*data\.time_column"):
        CSVSeriesDataModule(path, ["load"], window=3, time_column="when").setup()
    with pytest.raises(ConfigError, match=r"'temp', which is not in data\.value_columns"):
        CSVSeriesDataModule(path, ["load"], window=3, target_columns=["temp"])

    text = path.read_text().splitlines()
    text[4] = text[4].replace(text[4].split(",")[1], "12 kW")
    (tmp_path / "bad.csv").write_text("\n".join(text))
    with pytest.raises(DataError, match=r"'load' .* 1 non-numeric value.*'12 kW' in data row 4"):
        CSVSeriesDataModule(tmp_path / "bad.csv", ["load"], window=3).setup()

    text = path.read_text().splitlines()
    text[4] = text[4].replace(text[4].split(",")[1], "")
    (tmp_path / "gap.csv").write_text("\n".join(text))
    with pytest.raises(DataError, match=r"1 missing values .* 2021-01-04 \(step 3\)"):
        CSVSeriesDataModule(tmp_path / "gap.csv", ["load"], window=3, time_column="date").setup()

    text = path.read_text().splitlines()
    text[2], text[3] = text[3], text[2]
    (tmp_path / "shuffled.csv").write_text("\n".join(text))
    with pytest.raises(DataError, match="not in increasing time order"):
        CSVSeriesDataModule(tmp_path / "shuffled.csv", "load", window=3, time_column="date").setup()


def test_a_blank_line_in_a_one_column_csv_is_a_missing_value(tmp_path: Path) -> None:
    # an empty cell of a one-column file is a blank line: dropping it would shift time
    lines = ["value", *map(str, range(30))]
    lines[5] = ""  # data row 5: step 4
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n\n\n")  # and blank lines at the end
    with pytest.raises(DataError, match=r"1 missing values .*first at step 4:"):
        CSVSeriesDataModule(tmp_path / "s.csv", "value", window=2).setup()
    dm = CSVSeriesDataModule(tmp_path / "s.csv", "value", window=2, impute="interpolate",
                             scaler="none")  # fmt: skip
    dm.setup()
    np.testing.assert_array_equal(steps(dm)[:, 0], np.arange(30.0))  # 30 steps, filled


# ---------------------------------------------------------------------- configs

CONF = CONFIG_DIR / "data"
OPTIONS = ["sunspots", "airline", "co2", "series_csv"]


def load_option(option: str) -> Any:
    root = OmegaConf.create({"seed": 3, "paths": {"data_dir": "/nonexistent"}})
    root.data = OmegaConf.load(CONF / f"{option}.yaml")
    return root.data


@pytest.mark.parametrize("option", OPTIONS)
def test_yaml_keys_match_init_and_instantiate_without_reading(option: str) -> None:
    node = load_option(option)
    assert set(node) - {"_target_"} == set(inspect.signature(get_class(node._target_)).parameters)
    dm = instantiate(node, _convert_="all")
    assert dm.name == option and dm.seed == 3 and not dm.tensors


def test_series_csv_yaml_sets_up_once_a_path_is_given(tmp_path: Path) -> None:
    node = load_option("series_csv")
    with pytest.raises(ConfigError, match=r"data\.path"):
        instantiate(node, _convert_="all").setup()
    node.path = str(write_csv(tmp_path / "s.csv", rows=200))
    node.value_columns = ["load", "temp"]
    dm = instantiate(node, _convert_="all")
    dm.setup()
    assert dm.net_kwargs()["input_size"] == 2


def test_co2_yaml_imputes() -> None:
    dm = instantiate(load_option("co2"), _convert_="all")
    assert dm.impute == "interpolate" and dm.window == 52


# ---------------------------------------------------------------------- Lightning


class Linear(L.LightningModule):
    def __init__(self, window: int) -> None:
        super().__init__()
        self.net = nn.Linear(window, 1)
        self.first: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        x, y = batch  # (B, W, 1), (B, 1, 1)
        if batch_idx == 0:
            self.first.append(x.clone())
        return nn.functional.mse_loss(self.net(x[..., 0]), y[:, :, 0])

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", nn.functional.mse_loss(self.net(x[..., 0]), y[:, :, 0]))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def fit(dm: WindowedSeriesDataModule, **kwargs: Any) -> Linear:
    model = Linear(dm.window)
    L.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, max_epochs=2, **kwargs,
    ).fit(model, datamodule=dm)  # fmt: skip
    return model


def test_trains_in_lightning_and_reshuffles_each_epoch() -> None:
    model = fit(ArraySeries(np.sin(np.arange(300) / 5), window=8), limit_val_batches=1)
    assert len(model.first) == 2 and not torch.equal(*model.first)


def test_overfit_batches_turns_shuffling_off() -> None:
    model = fit(ArraySeries(np.sin(np.arange(300) / 5), window=8), overfit_batches=2)
    assert torch.equal(*model.first)


# ---------------------------------------------------------------------- benchmark


@pytest.mark.slow
def test_bench_windows_prints_the_memory_ratio() -> None:
    script = REPO / "scripts" / "bench_windows.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--points", "200000", "--window", "32", "--horizon", "4"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines() if line}
    assert float(rows["ratio"][0]) > 0 and float(rows["build_s"][0]) >= 0
    assert float(rows["epoch_s"][0]) > 0 and rows["windows"][:2] == ["train", "139965"]
