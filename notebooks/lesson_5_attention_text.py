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
# # Lesson 5: attention and text
#
# From raw text to token ids, scaled and masked dot-product attention written out, and
# a transformer on the 2225 BBC News articles beside a linear bag of words, a CNN and
# the TF-IDF + logistic-regression baseline. The lesson's page is
# `docs/lessons/lesson-5.md`.
#
# **Budget.** `small` (the default) reads the first 128 words of an article and trains
# each net for a few epochs, about a minute for the notebook on two CPU cores; `full`
# uses the experiments' own settings (512 words for the transformer, up to 10 epochs;
# up to eight minutes on one thread), as `docs/lessons/lesson-5.md` reports them. Set
# `DLZOO_NOTEBOOK_BUDGET=full`, or edit the cell below.

# %%
import math
import os

import torch
import torch.nn.functional as F

import dlzoo
from dlzoo.layers.multihead_attention import scaled_dot_product_attention

BUDGET = os.environ.get("DLZOO_NOTEBOOK_BUDGET", "small")
SMALL = BUDGET == "small"
# the sequence nets' cost grows with every token: fewer tokens and epochs when small
SEQUENCE = {"data": {"tokenizer": {"max_length": 128}}, "trainer": {"max_epochs": 3}}
SEQUENCE = SEQUENCE if SMALL else {}
BAG = {"trainer": {"max_epochs": 5}} if SMALL else {}

# %% [markdown]
# ## From raw text to token ids
#
# The preprocessing steps of `conf/data/bbc_news.yaml` run in order: strip tags, unescape
# entities, normalise unicode, strip accents, lowercase, separate punctuation, replace
# digits, collapse spaces. The tokenizer is fitted on the training articles only, so a
# word seen only in validation or test is `[UNK]`.

# %%
bbc = dlzoo.datamodule("bbc_transformer", **SEQUENCE)
raw = "<p>Shares in BT rose 3.5% to &pound;2.10 on Monday, the FTSE's best day.</p>"
clean = bbc.preprocessor(raw)
ids, lengths = bbc.tokenizer.encode([clean])
print("raw    ", raw)
print("clean  ", clean)
print("tokens ", bbc.tokenizer.tokens_of(ids[0]))
print("ids    ", ids[0].tolist())

tokens, labels, lengths = next(iter(bbc.train_dataloader()))
print("a batch", tuple(tokens.shape), "(B, T), padded with 0; lengths", lengths[:6].tolist())

# %% [markdown]
# ## Scaled dot-product attention with a padding mask
#
# Every query scores every key, `q k^T / sqrt(d_k)`; a softmax turns the scores into
# weights that sum to 1; the output is the weighted sum of the values. Padded keys are
# masked: they get weight 0, so no word attends to padding. The function below is
# dlzoo's own, written out, and agrees with PyTorch's fused one.

# %%
torch.manual_seed(0)
q, k, v = torch.randn(3, 1, 5, 16).unbind(0)  # (B=1, T=5, d_k=16)
mask = torch.tensor([[True, True, True, False, False]])  # 3 real tokens, 2 padding
out, weights = scaled_dot_product_attention(q, k, v, mask)
print("weights (query x key), rows sum to 1, padding gets 0:")
print(weights[0].numpy().round(2))
fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, :])
print("equal to torch's:", torch.allclose(out, fused, atol=1e-6))

# %% [markdown]
# Why divide by `sqrt(d_k)`: the dot product of two random `d_k`-vectors has a standard
# deviation of about `sqrt(d_k)`, so with wide keys the softmax saturates on one key and
# its gradient vanishes. Scaled, the weights stay spread.

# %%
for d_k in (16, 512):
    q, k = torch.randn(2, 1, 8, d_k).unbind(0)
    raw_scores = q @ k.transpose(-2, -1)
    unscaled = torch.softmax(raw_scores, -1).max(-1).values.mean().item()
    scaled = torch.softmax(raw_scores / math.sqrt(d_k), -1).max(-1).values.mean().item()
    print(f"d_k={d_k:3d}: mean largest weight {unscaled:.2f} unscaled, {scaled:.2f} scaled")

# %% [markdown]
# ## A transformer against a bag of words, a CNN and TF-IDF
#
# `bbc_onehot` is a linear model on word counts; `bbc_cnn` slides kernels of 3, 4 and 5
# words; `bbc_transformer` lets every word attend to every other. Every text run scores
# the TF-IDF + logistic regression baseline (`tfidf_logreg_acc`) on the same split.
# The net to keep is the lowest `val/loss` (these experiments' optimised metric).

# %%
runs = {
    "onehot bag": dlzoo.fit("bbc_onehot", **BAG),
    "cnn": dlzoo.fit("bbc_cnn", **SEQUENCE),
    "transformer": dlzoo.fit("bbc_transformer", **SEQUENCE),
}
table = dlzoo.compare(runs)
chosen = table["val/loss"].idxmin()
table

# %% [markdown]
# ## What the transformer attends to
#
# The trained net on a new sentence, preprocessed and tokenised as in training: its
# class probabilities, and the last layer's attention (averaged over heads and
# queries) per word.

# %%
transformer = runs["transformer"]
sentence = "The chancellor promised to cut taxes for small firms in the budget."
probabilities = transformer.predict([sentence])[0]
data = transformer.datamodule
ids, lengths = data.tokenizer.encode([data.preprocessor(sentence)])
with torch.no_grad():
    transformer.net(ids, lengths)
attention = transformer.net.last_attention[0, : lengths[0]]
for name, p in zip(data.class_names, probabilities.tolist(), strict=True):
    print(f"{name:13} {p:.2f}")
for word, weight in sorted(
    zip(data.tokenizer.tokens_of(ids[0]), attention.tolist(), strict=True), key=lambda w: -w[1]
)[:5]:
    print(f"{word:12} {weight:.3f}")

# %%
best = table.loc[chosen]
print(
    f"lesson 5 ({BUDGET} budget): chosen on val/loss: {chosen}, test acc {best['test/acc']:.3f} "
    f"beside TF-IDF + logreg {best['baseline tfidf_logreg_acc']:.3f} and majority "
    f"{best['baseline majority_acc']:.3f}; transformer {table.loc['transformer', 'test/acc']:.3f}, "
    f"cnn {table.loc['cnn', 'test/acc']:.3f}"
)
