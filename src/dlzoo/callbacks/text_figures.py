"""What a text model looks at: attention over tokens, and its word embeddings.

Both are drawn for the best checkpoint, when the pipeline validates it after fit
(and, for attention, every ``every_n_epochs`` epochs of fit if asked), into every
TensorBoard logger of the run, the attention figure also into ``figures/attention.png``;
for data without a tokenizer they do nothing:

- :class:`AttentionFigure`: the attention weights of a few validation documents over
  their tokens (nets that keep ``last_attention``, (B, T): ``text_gru_attention``,
  ``transformer``), and per class the words that receive the most attention over the
  validation split.
- :class:`EmbeddingProjector`: the learned vectors of the most frequent training words
  in TensorBoard's projector (the net's ``word_vectors()`` where it has one, else its
  ``embedding``'s learned table).
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch

from dlzoo.callbacks.drawing import new_figure
from dlzoo.callbacks.figures import _log_figure, _StageFigure, _wanted, _writers

log = logging.getLogger(__name__)

__all__ = ["AttentionFigure", "EmbeddingProjector", "attention_figure", "top_attended_words"]


def _attention_batches(pl_module: L.LightningModule, loader: Any) -> Any:
    """``(tokens, y, lengths, weights)`` per validation batch, weights (B, T) on the CPU;
    nothing when the net leaves no weights (e.g. a bag with mean pooling)."""
    net = pl_module.net
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            for batch in loader:
                (tokens, lengths), y = pl_module.split_batch(batch)
                net(tokens.to(pl_module.device), lengths.to(pl_module.device))
                if net.last_attention is None:
                    return
                yield tokens.cpu(), y.cpu(), lengths.cpu(), net.last_attention.cpu()
    finally:
        net.train(was_training)


def top_attended_words(
    batches: Any, num_classes: int, vocab_size: int, top_k: int = 10, min_count: int = 3
) -> list[list[tuple[int, float]]]:
    """Per class, the token ids with the highest mean attention weight per occurrence.

    A word's score in a class is the attention it received in the class's documents,
    summed, divided by how often it occurred there (so frequent words do not win by
    number alone); words seen fewer than ``min_count`` times are left out.

    Args:
        batches: ``(tokens, y, lengths, weights)`` tuples.
        num_classes: K.
        vocab_size: V, token ids 0 .. V-1.
        top_k: words per class.
        min_count: the fewest occurrences a word needs in a class.

    Shapes:
        tokens (B, T) int64, y (B,), lengths (B,), weights (B, T)

    Returns:
        K lists of ``(token_id, mean_weight)``, best first.
    """
    totals = torch.zeros(num_classes, vocab_size, dtype=torch.float64)
    counts = torch.zeros(num_classes, vocab_size, dtype=torch.float64)
    for tokens, y, lengths, weights in batches:
        real = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]  # (B, T)
        flat = (y[:, None] * vocab_size + tokens)[real]  # (class, id) as one index
        totals.view(-1).index_add_(0, flat, weights[real].double())
        counts.view(-1).index_add_(0, flat, torch.ones_like(flat, dtype=torch.float64))
    mean = torch.where(counts >= min_count, totals / counts.clamp_min(1), torch.zeros(()))
    result = []
    for k in range(num_classes):
        values, ids = mean[k].topk(min(top_k, mean.shape[1]))
        result.append([(int(i), float(v)) for i, v in zip(ids, values, strict=True) if v > 0])
    return result


def attention_figure(
    examples: list[tuple[list[str], torch.Tensor, str]],
    top_words: list[tuple[str, list[tuple[str, float]]]],
    max_tokens: int = 40,
) -> Any:
    """Draw each example's first tokens shaded by attention, and the top words per class.

    Args:
        examples: ``(tokens, weights, title)`` per document; weights (T,) over its tokens.
        top_words: ``(class name, [(word, mean weight), ...])`` per class.
        max_tokens: tokens drawn per example (an article has hundreds).

    Returns:
        A matplotlib figure: one strip per example, then one bar panel per class.
    """
    rows = len(examples) + (1 if top_words else 0)
    heights = [1] * len(examples) + [3] * (rows - len(examples))
    fig = new_figure(figsize=(14, 1.3 * len(examples) + (3.0 if top_words else 0)))
    grid = fig.add_gridspec(rows, max(1, len(top_words)), height_ratios=heights)
    for i, (tokens, weights, title) in enumerate(examples):
        ax = fig.add_subplot(grid[i, :])
        shown = weights[:max_tokens].numpy()
        ax.imshow(shown[None, :], cmap="Reds", aspect="auto", vmin=0, vmax=float(weights.max()))
        ax.set_xticks(range(len(shown)), tokens[:max_tokens], rotation=90, fontsize=7)
        ax.set_yticks([])
        ax.set_title(title, fontsize=8, loc="left")
    for k, (name, words) in enumerate(top_words):
        ax = fig.add_subplot(grid[rows - 1, k])
        ax.barh([w for w, _ in reversed(words)], [v for _, v in reversed(words)], color="C3")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


class AttentionFigure(_StageFigure):
    """Log attention over tokens of validation documents, and the top words per class.

    Args:
        every_n_epochs: also draw it every this many epochs of fit (0: never during fit).
        num_examples: validation documents drawn.
        top_k: words per class in the second panel.
    """

    def __init__(self, every_n_epochs: int = 0, num_examples: int = 4, top_k: int = 10) -> None:
        super().__init__(every_n_epochs)
        self.num_examples = int(num_examples)
        self.top_k = int(top_k)

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        dm = trainer.datamodule
        tokenizer = getattr(dm, "tokenizer", None)
        if stage != "val" or not _wanted(trainer) or tokenizer is None:
            return
        if not hasattr(pl_module.net, "last_attention"):
            return
        batches = list(_attention_batches(pl_module, dm.val_dataloader()))
        if not batches:
            return
        names = list(dm.class_names)
        tokens, y, lengths, weights = batches[0]
        examples = [
            (
                tokenizer.tokens_of(tokens[i, : lengths[i]].tolist()),
                weights[i, : lengths[i]],
                f"validation document {i} (class {names[int(y[i])]})",
            )
            for i in range(min(self.num_examples, len(tokens)))
        ]
        top = top_attended_words(batches, len(names), tokenizer.vocab_size, self.top_k)
        words = [
            (names[k], [(tokenizer.id_to_token(i), v) for i, v in top[k]])
            for k in range(len(names))
        ]
        _log_figure(trainer, f"{stage}/attention", attention_figure(examples, words))
        for writer in _writers(trainer):
            text = "\n".join(f"- **{c}**: {', '.join(w for w, _ in ws)}" for c, ws in words)
            writer.add_text(f"{stage}/top_attended_words", text, trainer.global_step)


def _frequent_ids(
    tokens: torch.Tensor, lengths: torch.Tensor, limit: int, skip: int
) -> torch.Tensor:
    """The ``limit`` most frequent token ids over the real tokens (ids below ``skip``,
    the special tokens, left out), most frequent first.

    Shapes:
        tokens (N, T) int64, lengths (N,) -> (<= limit,) int64
    """
    real = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
    counts = torch.bincount(tokens[real])
    counts[:skip] = 0
    top = counts.argsort(descending=True)[:limit]
    return top[counts[top] > 0]


def _word_vectors(net: torch.nn.Module) -> torch.Tensor | None:
    """(V, D) learned vectors per token id: ``net.word_vectors()`` (a one-hot bag's first
    layer), or the learned table of ``net.embedding``; ``None`` without either."""
    if callable(getattr(net, "word_vectors", None)):
        return net.word_vectors()
    table = getattr(getattr(net, "embedding", None), "table", None)
    return None if table is None else table.weight


class EmbeddingProjector(L.Callback):
    """The learned embeddings of the most frequent training words in TensorBoard's projector.

    Written once, when the pipeline validates the best checkpoint after fit. Nets
    without a learned table (one-hot inputs) are skipped with a log line.

    Args:
        max_words: the most frequent words shown (the projector slows past ~10 000).
    """

    def __init__(self, max_words: int = 2000) -> None:
        self.max_words = int(max_words)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from lightning.pytorch.trainer.states import TrainerFn

        dm = trainer.datamodule
        tokenizer = getattr(dm, "tokenizer", None)
        if trainer.state.fn != TrainerFn.VALIDATING or tokenizer is None or not _writers(trainer):
            return
        table = _word_vectors(pl_module.net)
        if table is None:
            log.info("embedding projector skipped: the net has no learned word vectors")
            return
        tokens, _, lengths = dm.tensors["train"][:3]
        ids = _frequent_ids(tokens, lengths, self.max_words, skip=3)
        vectors = table.detach().cpu()[ids]  # (N, D)
        words = tokenizer.tokens_of(ids.tolist())
        for writer in _writers(trainer):
            writer.add_embedding(
                vectors, metadata=words, tag="word_embeddings", global_step=trainer.global_step
            )
