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
# # Lesson 4: tuning, schedules and transfer
#
# A small hyperparameter search over the learning rate and the learning-rate schedule,
# chosen on the validation split; then transfer learning: a net trained on the digits
# 0-4 reused for 5-9 from ten labelled images each, against the same net from scratch.
# The lesson's page is `docs/lessons/lesson-4.md`; the command-line searches
# (`hparams_search=...`, `dlzoo-tune`) are in `docs/guides/sweeps.md`.
#
# **Budget.** `small` (the default) trains each search trial for 4 epochs and the
# transfer runs briefly, about a minute for the notebook on two CPU cores; `full` uses
# the experiments' own settings (a few minutes), as `docs/lessons/lesson-4.md` reports
# them. Set `DLZOO_NOTEBOOK_BUDGET=full`, or edit the cell below.

# %%
import itertools
import os

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

import dlzoo

BUDGET = os.environ.get("DLZOO_NOTEBOOK_BUDGET", "small")
SMALL = BUDGET == "small"
# at the small budget the source net sees 2 epochs of 0-4 and the transfer runs 10 of
# 5-9, against 15 and up to 60: its ranking of the three can differ from the full one's
TRIAL = {"trainer": {"max_epochs": 4}} if SMALL else {}
PRETRAIN = {"trainer": {"max_epochs": 2}} if SMALL else {}
TRANSFER = {"trainer": {"max_epochs": 10}} if SMALL else {}

# %% [markdown]
# ## A grid search, chosen on validation
#
# Two learning rates times three schedulers are six runs of `digits_cnn`; every added
# parameter would multiply them again (the curse of dimensionality of a grid). The
# search may only look at validation: the best `val/acc`, and on a tie the lower
# `val/loss`. The test column is there to read afterwards, not to choose by. On the
# command line the same grid is one Hydra multirun:
# `dlzoo-train -m experiment=digits_cnn optimizer.lr=1e-3,1e-2 scheduler=cosine,plateau,onecycle`.

# %%
grid = {"lr": [1e-3, 1e-2], "scheduler": ["cosine", "plateau", "onecycle"]}
trials = {}
for lr, scheduler in itertools.product(*grid.values()):
    trials[(lr, scheduler)] = dlzoo.fit(
        "digits_cnn", scheduler=scheduler, optimizer={"lr": lr}, **TRIAL
    )

# %%
table = dlzoo.compare({f"lr={lr} {s}": r for (lr, s), r in trials.items()}, metrics=["acc"])
table.insert(1, "val/loss", [r.val["val/loss"] for r in trials.values()])
ranked = table.sort_values(["val/acc", "val/loss"], ascending=[False, True])
chosen = ranked.index[0]
ranked[["val/acc", "val/loss", "test/acc", "baseline logreg_acc", "fit_s"]]

# %% [markdown]
# ## What a scheduler does to the learning rate
#
# The learning rate per epoch for each scheduler (the larger rate of the grid): cosine
# decays smoothly, plateau halves it only when `val/loss` stops improving, one-cycle
# warms up first and then anneals. TensorBoard draws the same curves (`lr-Adam`).

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for scheduler in grid["scheduler"]:
    history = trials[(grid["lr"][-1], scheduler)].history
    ax.plot(history["epoch"], history["lr"], marker="o", markersize=3, label=scheduler)
ax.set_xlabel("epoch")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.set_ylabel("learning rate")
ax.legend()
plt.show()

# %% [markdown]
# ## Transfer learning
#
# First a CNN learns the digits 0-4 of MNIST with all their labels. Then the digits 5-9,
# with only 10 labelled images each: the pretrained body with a new head, fine-tuned
# (`transfer=finetune`, the body at a tenth of the head's learning rate) or frozen
# (`transfer=frozen`, only the head trains), against the same net from fresh weights
# (`transfer=scratch`). The logistic-regression baseline sees the same 50 images.
# Whether reuse pays depends on how much the source learned and how long the new runs
# train: compare this table at the small budget with the full one.

# %%
pretrained = dlzoo.fit("mnist_pretrain_04", **PRETRAIN)
source = {"init_from": str(pretrained.run_dir)}
transfer = {
    way: dlzoo.fit(f"mnist_transfer_{way}", **source, **TRANSFER)
    for way in ("finetune", "frozen", "scratch")
}
transfer_table = dlzoo.compare(transfer, metrics=["acc"])
transfer_table

# %%
tuned, reused = table.loc[chosen], transfer_table.loc["finetune"]
print(
    f"lesson 4 ({BUDGET} budget): chosen on validation: {chosen}, test acc "
    f"{tuned['test/acc']:.3f} beside logreg {tuned['baseline logreg_acc']:.3f}; "
    f"transfer 5-9 from 50 images: fine-tuned {reused['test/acc']:.3f}, "
    f"frozen {transfer_table.loc['frozen', 'test/acc']:.3f}, "
    f"scratch {transfer_table.loc['scratch', 'test/acc']:.3f}, "
    f"logreg {reused['baseline logreg_acc']:.3f}"
)
