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
# # Lesson 6: autoencoders, anomaly detection, siamese nets and JEPA
#
# Nets that learn a representation of 5000 MNIST digits without using their labels as
# targets: an autoencoder, the same autoencoder as an anomaly detector, a siamese net
# trained on triplets, and an image JEPA. The labels stay for judging them: a
# **linear probe** (logistic regression on the frozen features, `test/probe_acc`) beside
# the same regression on the raw pixels (`baseline logreg_acc`), and k-means on the
# features beside k-means on the pixels. The lesson's page is `docs/lessons/lesson-6.md`.
#
# **Budget.** `small` (the default) trains each net for one to five epochs, about a
# minute for the notebook on two CPU cores; `full` uses the experiments' own settings
# (about two minutes), as `docs/lessons/lesson-6.md` reports them. Set
# `DLZOO_NOTEBOOK_BUDGET=full`, or edit the cell below.

# %%
import os

import matplotlib.pyplot as plt
import torch

import dlzoo

BUDGET = os.environ.get("DLZOO_NOTEBOOK_BUDGET", "small")
SMALL = BUDGET == "small"


def epochs(small: int) -> dict:
    """``small`` epochs at the small budget; the experiment's own at the full one."""
    return {"trainer": {"max_epochs": small}} if SMALL else {}


# %% [markdown]
# ## An autoencoder and its latent space
#
# The encoder squeezes a 28x28 digit into 64 numbers, the decoder rebuilds the digit from
# them, and the loss is the reconstruction error: no labels. Top row: test digits;
# bottom row: what the net rebuilds from their latents.

# %%
autoencoder = dlzoo.fit("mnist_autoencoder", **epochs(3))
digits = dlzoo.datamodule("mnist_autoencoder")
batch = next(iter(digits.val_dataloader()))
with torch.no_grad():
    rebuilt = autoencoder.task.reconstruct(batch["x"][:8])
fig, axes = plt.subplots(2, 8, figsize=(10, 2.6))
for i in range(8):
    axes[0, i].imshow(batch["x"][i, 0], cmap="gray")
    axes[1, i].imshow(rebuilt[i, 0], cmap="gray")
for ax in axes.flat:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Anomaly detection by reconstruction error
#
# `mnist_anomaly_one_class` trains the autoencoder on the 0s only. Validation and test
# hold every digit; the others are anomalies, and a digit it rebuilds badly scores high.
# The threshold is the 95th percentile of the *normal* validation scores, fitted on
# validation only; the histograms are the test digits.

# %%
anomaly = dlzoo.fit("mnist_anomaly_one_class", **epochs(5))
test = list(dlzoo.datamodule("mnist_anomaly_one_class").test_dataloader())
images = torch.cat([b["x"] for b in test])
is_anomaly = torch.cat([b["anomaly"] for b in test]).bool()
with torch.no_grad():
    scores = anomaly.task.score(images)
bins = torch.linspace(scores.min(), scores.max(), 60).numpy()
fig, ax = plt.subplots(figsize=(7, 3))
ax.hist(scores[~is_anomaly], bins=bins, alpha=0.6, density=True, label="normal (0)")
ax.hist(scores[is_anomaly], bins=bins, alpha=0.6, density=True, label="anomaly (1-9)")
ax.axvline(anomaly.task.threshold, color="black", ls="--", label="threshold")
ax.set_xlabel("reconstruction error")
ax.legend()
plt.show()
dlzoo.compare({"one-class autoencoder": anomaly}, metrics=["auroc", "pr_auc", "f1"])

# %% [markdown]
# `test/auroc` is the chance that a random anomaly scores above a random normal digit:
# 0.5 is chance. F1 depends on the threshold, which was fixed on validation.
#
# ## A siamese net and JEPA, against the pixels
#
# `mnist_siamese_triplet` pulls an anchor towards another image of its class and pushes
# it away from an image of another class (the labels are used, as pairs);
# `mnist_jepa` predicts the embeddings of hidden blocks of patches from the visible
# ones, without labels. All three are judged the same way: the probe and k-means on
# their features against the same on the pixels, and the probe beside the same net
# untrained (every layer re-initialised: what the architecture alone gives).

# %%
runs = {
    "autoencoder": autoencoder,
    "siamese triplet": dlzoo.fit("mnist_siamese_triplet", **epochs(1)),
    "jepa": dlzoo.fit("mnist_jepa", **epochs(2)),
}
table = dlzoo.compare(runs, metrics=["probe_acc", "kmeans_ari", "knn_acc"])
table

# %%
probe, pixels = table["test/probe_acc"], table["baseline logreg_acc"]
untrained = table["baseline untrained_probe_acc"]
verdicts = [
    f"{name} {probe[name]:.3f} vs pixels {pixels[name]:.3f}, untrained {untrained[name]:.3f}"
    for name in table.index
]
print(
    f"lesson 6 ({BUDGET} budget): linear probe on the features: {'; '.join(verdicts)}; "
    f"anomaly ROC-AUC {anomaly.test['test/auroc']:.3f} (chance 0.5)"
)
