# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 3: time series
#
# Windows and horizons, a split that does not leak the future, the naive forecast every
# model has to beat, and recurrent nets (a simple RNN, GRU, LSTM) against a linear
# autoregression. The lesson's page is `docs/lessons/lesson-3.md`.
#
# **Budget.** `small` (the default) trains each net for at most 40 epochs, well under
# a minute for the notebook on two CPU cores; `full` uses the experiments' own 150
# epochs with early stopping, the settings `docs/lessons/lesson-3.md` reports. Set
# `DLZOO_NOTEBOOK_BUDGET=full`, or edit the cell below.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import dlzoo

BUDGET = os.environ.get("DLZOO_NOTEBOOK_BUDGET", "small")
EPOCHS = {"trainer": {"max_epochs": 40}} if BUDGET == "small" else {}

# %% [markdown]
# ## Windows and a chronological split
#
# 309 yearly sunspot numbers. The net reads a window of 11 years (one solar cycle) and
# forecasts the next year: a batch is `x (B, window, features)` and
# `y (B, horizon, targets)`. The first 70 % of the years train, the next 15 % validate,
# the last 15 % test; no window crosses a boundary, and the scaler is fitted on the
# training years alone, so nothing of the future leaks into training.

# %%
sunspots = dlzoo.datamodule("sunspots_gru")
x, y = next(iter(sunspots.train_dataloader()))
print("x", tuple(x.shape), " y", tuple(y.shape))

values, _, years = sunspots.load()
fig, ax = plt.subplots(figsize=(10, 3))
for stage, (start, stop) in sunspots.split_bounds.items():
    ax.plot(years[start:stop], values[start:stop, 0], label=f"{stage} ({stop - start} years)")
ax.set_ylabel("sunspots")
ax.legend()
plt.show()

# %% [markdown]
# ## The naive forecast, a linear model and recurrent nets
#
# `sunspots_naive` repeats the last value: nothing to fit. MASE divides a model's mean
# absolute error by the one-step naive forecast's on the training years, and every run
# also scores the naive forecast on its own test windows: `test/mase_vs_naive` below 1
# beats it. `model=rnn` keeps one hidden state; the GRU and LSTM add gates that decide
# what to keep and what to forget.

# %%
runs = {name: dlzoo.fit(f"sunspots_{name}", **EPOCHS) for name in ("naive", "linear", "gru")}
runs["rnn"] = dlzoo.fit("sunspots_gru", model="rnn", **EPOCHS)
runs["lstm"] = dlzoo.fit("sunspots_lstm", **EPOCHS)
table = dlzoo.compare(runs, metrics=["mase", "mase_vs_naive", "naive_mase", "mae"])
table

# %% [markdown]
# The model to keep is the lowest `val/mase` (the validation years); its test MASE is
# then read once, beside the naive forecast on the same test windows.

# %%
chosen = table["val/mase"].idxmin()
runs[chosen].plot(["loss", "mase"])

# %% [markdown]
# ## The forecasts on the test years
#
# Each test year forecast from the 11 years before it, by the chosen model and by the
# naive forecast, in sunspot numbers (`predict` undoes the scaling).

# %%
start, stop = sunspots.split_bounds["test"]
window = sunspots.window
targets = range(start + window, stop)
forecast = [runs[chosen].predict(values[t - window : t]).item() for t in targets]
fig, ax = plt.subplots(figsize=(10, 3))
ax.plot(years[start:stop], values[start:stop, 0], color="black", label="truth")
ax.plot(years[list(targets)], forecast, marker="o", markersize=3, label=chosen)
ax.plot(years[list(targets)], values[np.array(targets) - 1, 0], ls="--", label="naive")
ax.legend()
plt.show()

# %%
best = table.loc[chosen]
print(
    f"lesson 3 ({BUDGET} budget): chosen on val/mase: {chosen}, test MASE {best['test/mase']:.2f} "
    f"({best['test/mase_vs_naive']:.2f} x naive) beside naive {best['test/naive_mase']:.2f}, "
    f"linear {table.loc['linear', 'test/mase']:.2f}"
)
