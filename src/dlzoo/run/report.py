"""What a run tells its user at the end: metric scalars, the hyperparameters for
TensorBoard's HPARAMS tab, the best epoch, why training stopped, the result line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import lightning as L

# the metrics the result line shows first, when a run has them
HEADLINE = (
    "acc",
    "f1",
    "mase",
    "mase_vs_naive",
    "naive_mase",
    "mae",
    "rmse",
    "mse",
    "auroc",
    "pr_auc",
    "verify_acc",
    "knn_acc",
    "probe_acc",
    "kmeans_ari",
)


def scalars(metrics: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """The entries of ``metrics`` that start with ``prefix``, as sorted floats."""
    out = {}
    for key, value in metrics.items():
        if key.startswith(prefix):
            out[key] = float(value.item() if hasattr(value, "item") else value)
    return dict(sorted(out.items()))


def flat_hparams(cfg: DictConfig) -> dict[str, Any]:
    """The config flattened to ``a/b/c: scalar`` for TensorBoard's HPARAMS tab; each
    ``_target_`` as its class name (``model/class: CNN``, ``optimizer/class: Adam``)."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            if "_target_" in node:  # the class, by name: `optimizer/class: Adam`
                out[f"{prefix}/class"] = str(node["_target_"]).rsplit(".", 1)[-1]
            for k, v in node.items():
                if not str(k).startswith("_"):
                    walk(v, f"{prefix}/{k}" if prefix else str(k))
        elif isinstance(node, bool | int | float | str) or node is None:
            out[prefix] = "null" if node is None else node
        else:
            out[prefix] = str(node)

    for group in ("data", "model", "task", "optimizer", "scheduler"):
        node = cfg.get(group)
        walk(OmegaConf.to_container(node, resolve=True) if node is not None else None, group)
    out["trainer/max_epochs"] = cfg.trainer.max_epochs
    out["seed"] = "null" if cfg.get("seed") is None else cfg.seed
    return out


def best_epoch(ckpt_path: str | None) -> int | None:
    """The (1-based) epoch a checkpoint was written after, or ``None`` without one."""
    if not ckpt_path:
        return None
    import torch

    return int(torch.load(ckpt_path, map_location="cpu", weights_only=True)["epoch"]) + 1


def run_status(trainer: L.Trainer) -> str:
    """``pruned`` when a pruning callback stopped the run, else ``ok``."""
    return "pruned" if any(getattr(c, "pruned", False) for c in trainer.callbacks) else "ok"


def stop_reason(trainer: L.Trainer) -> str | None:
    """A line saying that early stopping or pruning ended the run, or ``None``."""
    # here, not at the top: dlzoo-runs reads results without loading Lightning
    from lightning.pytorch.callbacks import EarlyStopping

    for callback in trainer.callbacks:
        if getattr(callback, "pruned", False):
            return callback.stop_reason()
        if isinstance(callback, EarlyStopping) and callback.stopped_epoch > 0:
            return (
                f"early stopping after epoch {callback.stopped_epoch + 1}: "
                f"{callback.monitor} did not improve for {callback.patience} epochs"
            )
    return None


def baseline_label(key: str) -> str:
    """A baseline metric's short name: ``test/baseline_majority_acc`` -> ``majority_acc``;
    ``test/baseline_acc`` (a task's own baseline: TF-IDF + logistic regression for text)
    -> ``tfidf_logreg_acc``."""
    name = key.removeprefix("test/baseline_")
    return "tfidf_logreg_acc" if name == "acc" else name


def result_line(payload: Mapping[str, Any]) -> str:
    """``result: test/acc 0.985 (baselines: majority_acc 0.10, logreg_acc 0.96) ...``."""
    test = payload.get("test") or {}
    shown = [f"test/{n}" for n in HEADLINE if f"test/{n}" in test]
    parts = [f"{k} {test[k]:.4g}" for k in shown]
    baselines = [f"{baseline_label(k)} {v:.4g}" for k, v in test.items() if "baseline_" in k]
    if baselines:
        parts.append(f"(baselines: {', '.join(baselines)})")
    value = payload.get("optimized_value")
    if value is not None:
        parts.append(f"{payload['optimized_metric']} {value:.4g}")
    if payload.get("best_epoch"):
        parts.append(f"best epoch {payload['best_epoch']} of {payload['epochs']}")
    return "result: " + "  ".join(parts)
