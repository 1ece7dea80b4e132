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
# # Lesson 2: convolutional networks
#
# Why a dense layer scales badly with the image, what a convolution does instead, the
# classic architectures (VGG, Inception, ResNet with squeeze-and-excitation) on the 8x8
# digits, and overfitting. The lesson's page is `docs/lessons/lesson-2.md`.
#
# **Budget.** `small` (the default) trains each net for at most 10 epochs, about a
# minute for the notebook on two CPU cores; `full` uses the experiments' own settings
# (30 epochs with early stopping), as `docs/lessons/lesson-2.md` reports them. Set
# `DLZOO_NOTEBOOK_BUDGET=full`, or edit the cell below.

# %%
import os

import pandas as pd
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import dlzoo
from dlzoo.config.compose import CONFIG_DIR

BUDGET = os.environ.get("DLZOO_NOTEBOOK_BUDGET", "small")
EPOCHS = {"trainer": {"max_epochs": 10}} if BUDGET == "small" else {}


def untrained(model: str, **shapes) -> torch.nn.Module:
    """A net of `conf/model/<model>.yaml` for the input the shapes describe."""
    return instantiate(OmegaConf.load(CONFIG_DIR / "model" / f"{model}.yaml"), **shapes)


def parameters(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# %% [markdown]
# ## Dense against convolutional: parameters at two image sizes
#
# The MLP's first layer connects every pixel to every unit, so it grows with the image.
# A convolution slides one small kernel over the image; with global average pooling at
# the end, nothing in the CNN depends on the image size. No training needed to see it.

# %%
sizes = {"8x8 digits": 8, "28x28 MNIST": 28}
counts = pd.DataFrame(
    {
        name: {
            "mlp": parameters(untrained("mlp", in_features=side * side, num_classes=10)),
            "cnn": parameters(untrained("cnn", in_channels=1, num_classes=10, image_size=side)),
        }
        for name, side in sizes.items()
    }
)
counts

# %% [markdown]
# ## The building blocks, shape by shape
#
# `model=cnn` is four `conv` blocks (convolution, batch norm, ReLU; `pool: max` halves
# height and width), then global average pooling and a linear head. Following one batch
# through it shows what each block does to the tensor.

# %%
cnn = untrained("cnn", in_channels=1, num_classes=10, image_size=8).eval()
x = torch.zeros(64, 1, 8, 8)
print("input          ", tuple(x.shape))
for i, block in enumerate(cnn.features):
    x = block(x)
    print(f"block {i} {type(block).__name__:8}", tuple(x.shape))
print("pooled features", tuple(cnn.forward_features(torch.zeros(64, 1, 8, 8)).shape))
print("logits         ", tuple(cnn(torch.zeros(64, 1, 8, 8)).shape))

# %% [markdown]
# ## A CNN beside the MLP and the baselines
#
# The same data, split and baselines; only the net changes.

# %%
runs = {
    "mlp": dlzoo.fit("digits_mlp", **EPOCHS),
    "cnn": dlzoo.fit("digits_cnn", **EPOCHS),
}
dlzoo.compare(runs)

# %% [markdown]
# ## The classic architectures
#
# Each is a model YAML over the same `CNN` class: `vgg_small` (stages of two 3x3
# convolutions and a max pool), `inception_small` (parallel 1x1, 3x3, 5x5 and pooling
# branches, with 1x1 convolutions to reduce the channels first), `resnet_small`
# (residual blocks with squeeze-and-excitation). Changing one word of the command
# line, `model=...`, swaps the architecture.

# %%
for model in ("vgg_small", "inception_small", "resnet_small"):
    runs[model] = dlzoo.fit("digits_cnn", model=model, **EPOCHS)
table = dlzoo.compare(runs)
table.insert(0, "parameters", [parameters(r.net) for r in runs.values()])
table

# %% [markdown]
# Which one to keep is decided on validation: the highest `val/acc`, and on a tie the
# smaller net. With 270 validation digits, several nets may tie; the test column then
# says how the choice does on digits that played no part in it.

# %%
ranked = table.sort_values(["val/acc", "parameters"], ascending=[False, True])
chosen = ranked.index[0]
ranked[["parameters", "val/acc", "test/acc", "baseline logreg_acc"]]

# %% [markdown]
# ## Overfitting two batches
#
# `debug=overfit` trains on the same 2 batches for 100 epochs (40 at the small budget).
# A working net and loss drive the training loss towards zero (a net that cannot is
# broken, whatever its other numbers); validation, on digits those batches do not
# hold, shows how much of that is memorised.

# %%
overfit = dlzoo.fit(
    "digits_cnn", debug="overfit", **({"trainer": {"max_epochs": 40}} if BUDGET == "small" else {})
)
overfit.plot(["loss", "acc"])

# %%
best, last = table.loc[chosen], overfit.history.iloc[-1]
print(
    f"lesson 2 ({BUDGET} budget): chosen on val/acc: {chosen} "
    f"({table.loc[chosen, 'parameters']} parameters), test acc {best['test/acc']:.3f} beside "
    f"mlp {table.loc['mlp', 'test/acc']:.3f}, logreg {best['baseline logreg_acc']:.3f}; "
    f"overfit: train/loss {last['train/loss']:.3f} against val/loss {last['val/loss']:.3f}"
)
