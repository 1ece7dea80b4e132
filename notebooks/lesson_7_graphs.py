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
# # Lesson 7: graph neural networks
#
# A graph net updates every node from its neighbours, as a convolution updates a pixel
# from the pixels around it. Two questions, each against the same net without the
# edges: classifying the members of a karate club from four labelled ones, and
# classifying molecules (MUTAG) as mutagenic or not. Needs the `graph` extra (PyTorch
# Geometric). The lesson's page is `docs/lessons/lesson-7.md`.
#
# **Budget.** The karate club trains in seconds at its full settings. For MUTAG,
# `small` (the default) runs 5-fold cross-validation of at most 50 epochs a fold, well
# under a minute for the notebook on two CPU cores; `full` runs the experiments' 10
# folds of up to 100 epochs (about two minutes), as `docs/lessons/lesson-7.md`
# reports them. Set `DLZOO_NOTEBOOK_BUDGET=full`, or edit the cell below.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

import dlzoo

BUDGET = os.environ.get("DLZOO_NOTEBOOK_BUDGET", "small")
FOLDS = {"cv": {"folds": 5}, "trainer": {"max_epochs": 50}} if BUDGET == "small" else {}

# %% [markdown]
# ## The karate club: a GCN against the same net without edges
#
# 34 members, 4 communities, one labelled member each. A member's features are only
# its identity (a one-hot vector), so whatever reaches the 30 unlabelled members has
# to travel along the friendships. `karate_mlp` replaces message passing with a
# per-node linear layer: the edge-free baseline.

# %%
karate = {"gcn": dlzoo.fit("karate_gcn"), "mlp (no edges)": dlzoo.fit("karate_mlp")}
dlzoo.compare(karate)

# %% [markdown]
# The graph coloured by the GCN's prediction; the four labelled members are squares,
# the wrongly classified ones ringed in red. The layout comes from the graph alone:
# members few friendships apart are drawn close (classical multidimensional scaling of
# the hop distances).

# %%
graph = dlzoo.datamodule("karate_gcn").data
gcn = karate["gcn"]
with torch.no_grad():
    predicted = gcn.net(graph).argmax(1)
edges, n = graph.edge_index.numpy(), graph.num_nodes
hops = np.full((n, n), np.inf)
hops[edges[0], edges[1]] = 1
np.fill_diagonal(hops, 0)
for k in range(n):  # Floyd-Warshall: the fewest hops between every two members
    hops = np.minimum(hops, hops[:, [k]] + hops[[k], :])
centre = np.eye(n) - 1 / n
values, vectors = np.linalg.eigh(-0.5 * centre @ hops**2 @ centre)
xy = vectors[:, -2:] * np.sqrt(values[-2:])

fig, ax = plt.subplots(figsize=(6, 5))
ax.plot(*xy[edges].transpose(2, 0, 1), color="lightgray", lw=0.8, zorder=0)
labelled = graph.train_mask.numpy()
wrong = (predicted != graph.y).numpy()
ax.scatter(*xy[~labelled].T, c=predicted[~labelled], cmap="tab10", vmax=9, s=80)
ax.scatter(*xy[labelled].T, c=predicted[labelled], cmap="tab10", vmax=9, s=120, marker="s")
ax.scatter(*xy[wrong].T, facecolors="none", edgecolors="red", s=220, lw=1.5)
ax.set_axis_off()
plt.show()

# %% [markdown]
# ## MUTAG: graph classification, cross-validated
#
# 188 molecules; a GIN sums each layer's atom vectors into one vector per molecule.
# With 19 test graphs per fold, one split is a noisy estimate, so each is
# cross-validated: the mean and standard deviation over the folds. The baselines are
# the majority class and a logistic regression on each molecule's mean and sum of atom
# types, which sees *which* atoms but not how they are bonded.

# %%
mutag = {
    "gin": dlzoo.fit("mutag_gin", **FOLDS),
    "mlp (no edges)": dlzoo.fit("mutag_mlp", **FOLDS),
}
table = dlzoo.compare(mutag, metrics=["acc"])
table

# %%
gin = table.loc["gin"]
print(
    f"lesson 7 ({BUDGET} budget): karate test acc gcn {karate['gcn'].test['test/acc']:.3f} "
    f"against no edges {karate['mlp (no edges)'].test['test/acc']:.3f}; MUTAG "
    f"{gin['folds']:.0f}-fold gin {gin['test/acc']:.3f} ± {gin['test/acc std']:.3f} against "
    f"no edges {table.loc['mlp (no edges)', 'test/acc']:.3f}, logreg on atom types "
    f"{gin['baseline logreg_acc']:.3f}, majority {gin['baseline majority_acc']:.3f}"
)
