"""A user's series from a CSV file: a time column, value columns and the target."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlzoo.data.memory import require_config
from dlzoo.data.readers import missing_column, numeric_columns, read_csv, time_stamps
from dlzoo.data.series.windowed import WindowedSeriesDataModule
from dlzoo.errors import ConfigError


class CSVSeriesDataModule(WindowedSeriesDataModule):
    """Your own series from a CSV file with a header row, one row per time step.

    The rows must be in time order (with ``time_column``, its values must increase).
    Empty cells and pandas' missing-value markers (``NA``, ``n/a``, ``null``, ...) are
    missing values (see ``impute``); any other non-numeric cell in a value column is an
    error.

    Args:
        path: the CSV file; ``None`` fails at setup with a hint (the YAML default, so
            the config can be composed before a file is chosen).
        value_columns: the numeric column(s) that make up the series (one name or a
            list); x holds them in this order, targets first.
        time_column: a column of time stamps (parsed as dates where possible), or
            ``None``.
        window, horizon, stride, batch_size, eval_batch_size, seed, val_fraction,
        test_fraction, scaler, impute: as :class:`WindowedSeriesDataModule`.
        target_columns: the value columns to forecast; ``None`` forecasts all of them.
    """

    name = "series_csv"

    def __init__(
        self,
        path: str | Path | None,
        value_columns: Sequence[str] | str,
        window: int,
        time_column: str | None = None,
        horizon: int = 1,
        stride: int = 1,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        scaler: str = "standard",
        impute: str | None = None,
        target_columns: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            window=window, horizon=horizon, stride=stride, batch_size=batch_size,
            eval_batch_size=eval_batch_size, seed=seed, val_fraction=val_fraction,
            test_fraction=test_fraction, scaler=scaler, impute=impute,
            target_columns=target_columns,
        )  # fmt: skip
        self.path = None if path is None else Path(path)
        if isinstance(value_columns, str):
            value_columns = [value_columns]
        if not value_columns:
            raise ConfigError("data.value_columns is empty: name the CSV column(s) to use")
        self.value_columns = [str(c) for c in value_columns]
        self.time_column = time_column
        if self.target_columns is not None:
            unknown = [c for c in self.target_columns if c not in self.value_columns]
            if unknown:
                raise ConfigError(
                    f"data.target_columns names '{unknown[0]}', which is not in "
                    f"data.value_columns={self.value_columns}"
                )

    def load(self) -> tuple[np.ndarray, list[str], Any | None]:
        if self.path is None:
            raise ConfigError("data 'series_csv' needs a file: set data.path=/path/to/series.csv")
        frame = read_csv(self.path, "set data.path to your file")
        wanted = self.value_columns + ([self.time_column] if self.time_column else [])
        for column in wanted:
            if column not in frame.columns:
                key = "time_column" if column == self.time_column else "value_columns"
                raise missing_column(self.path, frame, column, f"set data.{key}")
        blank = " or leave the cells empty (missing values, see data.impute)"
        values = numeric_columns(self.path, frame, self.value_columns, blank)
        time_index = None
        if self.time_column:
            time_index = time_stamps(self.path, frame, self.time_column)
        return values, list(self.value_columns), time_index

    def _check_columns(self, columns: list[str]) -> None:
        require_config(self.name, "value_columns", sorted(columns), sorted(self.value_columns))
