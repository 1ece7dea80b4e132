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
# # Lesson 1: tensors and dense networks
#
# Tensors up to five dimensions, a dense network and what its width does, and why the
# data is split three ways. Every run here is one `dlzoo.fit(...)` call, the same run as
# `dlzoo-train experiment=...` on the command line; the lesson's page is
# `docs/lessons/lesson-1.md`.
#
# **Budget.** `small` (the default) shortens the video runs so that the notebook
# finishes in about a minute on two CPU cores; `full` trains every experiment with the
# settings whose numbers `docs/lessons/lesson-1.md` reports (measured with torch's
# default threads; another thread count sums in another order and moves a few). Set
# `DLZOO_NOTEBOOK_BUDGET=full` before starting Jupyter, or edit the cell below. Runs are
# written under `$DLZOO_LOG_DIR` (by default `logs/` in the working directory).

# %%
import os

import matplotlib.pyplot as plt
import torch
from IPython.display import display
from sklearn.datasets import load_digits

import dlzoo

BUDGET = os.environ.get("DLZOO_NOTEBOOK_BUDGET", "small")
# the digits runs take seconds at their full settings, so only the video runs shrink:
# fewer clips and epochs than the 3000 clips and 6 epochs of the full experiment
VIDEO = {"data": {"num_clips": 600}, "trainer": {"max_epochs": 2}} if BUDGET == "small" else {}

# %% [markdown]
# ## Tensors, up to five dimensions
#
# One digit is a 2-D tensor (height, width). A datamodule serves a *batch* with the batch
# first and the channels before height and width, `(B, C, H, W)`; a dense net sees
# each image flattened to `(B, 64)`. A video clip adds time: `(B, T, C, H, W)`.

# %%
image = torch.tensor(load_digits().images[0])
print("one digit     ", tuple(image.shape), image.dtype, "pixels 0 ..", image.max().item())

digits = dlzoo.datamodule("digits_mlp")
x, y = next(iter(digits.train_dataloader()))
print("a batch       ", tuple(x.shape), "labels", tuple(y.shape))
print("as a dense net", tuple(x.flatten(1).shape))

video = dlzoo.datamodule("video_conv3d", **VIDEO)
clips, directions = next(iter(video.train_dataloader()))
print("video clips   ", tuple(clips.shape), "(B, T, C, H, W)")

# %% [markdown]
# The frames of one clip: the label is the direction the digit moves in. A net that
# looks at one frame cannot tell it; the order of the frames does.

# %%
frames = clips[0, :, 0]  # (T, H, W)
fig, axes = plt.subplots(1, len(frames), figsize=(2 * len(frames), 2))
for t, (ax, frame) in enumerate(zip(axes, frames, strict=True)):
    ax.imshow(frame, cmap="gray")
    ax.set_title(f"t={t}")
    ax.axis("off")
fig.suptitle(f"direction: {video.class_names[directions[0]]}")
plt.show()

# %% [markdown]
# ## A dense network beside two baselines
#
# `digits_mlp` flattens the image and stacks `Linear -> ReLU` layers (128 and 64
# units). Every classification run also scores the majority class and a logistic
# regression on the same pixels: the second is a linear model, so the gap to it is what
# the hidden layers add.

# %%
mlp = dlzoo.fit("digits_mlp")
dlzoo.compare({"mlp [128,64]": mlp})

# %% [markdown]
# ## Width: the number of units
#
# The same net with one narrow hidden layer, and with two wide ones. Look at the
# parameter count and at `train/loss` against `val/loss`: where the training loss keeps
# falling below the validation loss, the net is fitting the training digits rather
# than digits in general (overfitting); a net too narrow stays higher on both
# (underfitting). Early stopping on `val/acc` ends each run once validation stops
# improving.

# %%
widths = {"[16]": dlzoo.fit("digits_mlp", model={"hidden_sizes": [16]})}
widths["[128,64]"] = mlp
widths["[256,128]"] = dlzoo.fit("digits_mlp", model={"hidden_sizes": [256, 128]})
for name, result in widths.items():
    params = sum(p.numel() for p in result.net.parameters())
    last = result.history.iloc[-1]
    train, val = last["train/loss"], last["val/loss"]
    print(f"{name:9} {params:6d} parameters; last epoch train/loss {train:.3f}, val/loss {val:.3f}")

# %%
for name, result in widths.items():
    fig = result.plot(["loss"])
    fig.suptitle(f"hidden_sizes={name}")
    display(fig)

# %% [markdown]
# ## Three splits: train, validation, test
#
# The 1797 digits are split once, seeded and stratified, 70 / 15 / 15. The net learns
# from the training split; the validation split picks the best epoch and, below, the
# width. Every run scores the test split too, but the choice reads only the validation
# column: the chosen run's test number then says how the choice does on digits that
# played no part in it.

# %%
for stage in digits.split_indices:
    _, labels = digits.labelled(stage)
    print(f"{stage:5} {len(labels):4d} digits, per class {torch.bincount(labels).tolist()}")

# %%
table = dlzoo.compare(widths)
# on validation, never on test; on a tie the first, the narrower net
chosen = table["val/acc"].idxmax()
table

# %% [markdown]
# ## 5-D tensors in a net
#
# `video_conv3d` convolves over time and space; `video_frame_average` runs an image net
# on the mean of the frames, which keeps the path a digit took but not its order.

# %%
videos = {
    "conv3d": dlzoo.fit("video_conv3d", **VIDEO),
    "frame average": dlzoo.fit("video_frame_average", **VIDEO),
}
dlzoo.compare(videos)

# %%
best = table.loc[chosen]
conv3d = videos["conv3d"].test
print(
    f"lesson 1 ({BUDGET} budget): chosen on val/acc: hidden_sizes={chosen}, "
    f"test acc {best['test/acc']:.3f} beside logreg {best['baseline logreg_acc']:.3f} "
    f"and majority {best['baseline majority_acc']:.3f}; "
    f"video conv3d {conv3d['test/acc']:.3f} beside frame average "
    f"{videos['frame average'].test['test/acc']:.3f} "
    f"and logreg on the clip {conv3d['test/baseline_logreg_acc']:.3f}"
)
