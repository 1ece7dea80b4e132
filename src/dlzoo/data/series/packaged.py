"""Series that ship inside dependencies' wheels: sunspots and CO2 (statsmodels) and the
airline passengers (sktime); no download.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlzoo.data.series.windowed import WindowedSeriesDataModule
from dlzoo.data.series.windows import require_package


class PackagedSeriesDataModule(WindowedSeriesDataModule):
    """Base class of the one-column series that a package ships (sunspots, airline, co2).

    They differ in :meth:`read` (called once the package is known to be installed),
    ``requirement`` (the package and its pip requirement) and ``default_window`` (the
    window their config starts from); they take no ``target_columns`` (their one
    column is the target).

    Args:
        window: input time steps per sample; ``None`` is the dataset's ``default_window``.
        horizon, stride, batch_size, eval_batch_size, seed, val_fraction, test_fraction,
        scaler, impute: as :class:`WindowedSeriesDataModule`.
    """

    default_window: int = 1
    requirement: tuple[str, str] = ("statsmodels", "statsmodels>=0.14,<0.16")

    def __init__(
        self,
        window: int | None = None,
        horizon: int = 1,
        stride: int = 1,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        scaler: str = "standard",
        impute: str | None = None,
    ) -> None:
        super().__init__(
            window=self.default_window if window is None else window, horizon=horizon,
            stride=stride, batch_size=batch_size, eval_batch_size=eval_batch_size,
            seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
            scaler=scaler, impute=impute,
        )  # fmt: skip

    def load(self) -> tuple[np.ndarray, list[str], Any]:
        require_package(*self.requirement)
        return self.read()

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        """Read the series from its package (as :meth:`load` returns it)."""
        raise NotImplementedError


class SunspotsDataModule(PackagedSeriesDataModule):
    """Yearly mean sunspot numbers (SIDC), 1700-2008: 309 values; offline.

    Read from statsmodels (``sm.datasets.sunspots``, column ``SUNACTIVITY``); the time
    stamps are the years (time column ``year``). The default window of 11 years spans
    one solar cycle.

    Args: as :class:`PackagedSeriesDataModule`.
    """

    name = "sunspots"
    default_window = 11

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        # imported here: statsmodels takes about a second to import
        import pandas as pd
        from statsmodels.datasets import sunspots

        frame = sunspots.load_pandas().data
        years = pd.Index(frame["YEAR"].to_numpy().astype(np.int64), name="year")
        return frame[["SUNACTIVITY"]].to_numpy(np.float64), ["SUNACTIVITY"], years


class AirlineDataModule(PackagedSeriesDataModule):
    """Monthly international airline passengers (thousands), 1949-1960: 144 values.

    Box & Jenkins' series with trend and yearly seasonality, read from sktime
    (``sktime.datasets.load_airline``, offline) as column ``passengers``; time stamps
    are month starts (time column ``month``). With 144 values, the 15 % validation and
    test parts hold 22 months each, so ``window + horizon`` must stay at most 21.

    Args: as :class:`PackagedSeriesDataModule`.
    """

    name = "airline"
    default_window = 12
    requirement = ("sktime", "sktime>=1.2,<1.3")

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        from sktime.datasets import load_airline

        series = load_airline()
        # PeriodIndex -> timestamps: matplotlib and TensorBoard figures plot those
        months = series.index.to_timestamp().rename("month")
        return series.to_numpy(np.float64)[:, None], ["passengers"], months


class CO2DataModule(PackagedSeriesDataModule):
    """Weekly atmospheric CO2 at Mauna Loa (ppm), March 1958 - December 2001.

    2284 values, 59 of them missing; read from statsmodels (``sm.datasets.co2``,
    offline) as column ``co2``, time stamps the weeks' Saturdays (time column
    ``date``). Set ``impute`` (the YAML sets ``interpolate``): without it, setup fails
    and says where the gaps are. The default window of 52 weeks spans one year.

    Args: as :class:`PackagedSeriesDataModule`.
    """

    name = "co2"
    default_window = 52

    def read(self) -> tuple[np.ndarray, list[str], Any]:
        from statsmodels.datasets import co2

        frame = co2.load_pandas().data
        return frame[["co2"]].to_numpy(np.float64), ["co2"], frame.index.rename("date")
