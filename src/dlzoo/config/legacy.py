"""Run directories written before dlzoo's datamodules moved into one subpackage per
family (``dlzoo.data.image.DigitsDataModule`` is now
``dlzoo.data.image.packaged.DigitsDataModule``).

A run directory's ``.hydra/config.yaml`` names its classes by ``_target_``; the
datamodules are the only classes that moved, so :func:`upgrade_targets` maps their old
paths to today's when a run is loaded, and every older run directory still evaluates,
predicts, exports, resumes and serves ``init_from=``. (Checkpoints key the datamodule's
state by class name, which did not change.)
"""

from __future__ import annotations

from omegaconf import DictConfig, ListConfig

# modules that moved whole: old module -> new module
MOVED: dict[str, str] = {
    "dlzoo.data.graph_base": "dlzoo.data.graph.base",
    "dlzoo.data.graph_csv": "dlzoo.data.graph.csv_files",
    "dlzoo.data.image": "dlzoo.data.image.datamodule",
    "dlzoo.data.karate": "dlzoo.data.graph.karate",
    "dlzoo.data.moving_digits": "dlzoo.data.video.moving_digits",
    "dlzoo.data.pairs": "dlzoo.data.derived.pairs",
    "dlzoo.data.planetoid": "dlzoo.data.graph.planetoid",
    "dlzoo.data.reconstruction": "dlzoo.data.derived.reconstruction",
    "dlzoo.data.streaming": "dlzoo.data.streaming.datamodule",
    "dlzoo.data.streaming_fit": "dlzoo.data.streaming.fit",
    "dlzoo.data.streaming_index": "dlzoo.data.streaming.index",
    "dlzoo.data.streaming_loader": "dlzoo.data.streaming.loader",
    "dlzoo.data.streaming_sources": "dlzoo.data.streaming.sources",
    "dlzoo.data.streaming_write": "dlzoo.data.streaming.write",
    "dlzoo.data.text": "dlzoo.data.text.datamodule",
    "dlzoo.data.text_baseline": "dlzoo.data.text.baseline",
    "dlzoo.data.text_csv": "dlzoo.data.text.csv_files",
    "dlzoo.data.text_decoding": "dlzoo.data.text.decoding",
    "dlzoo.data.text_folder": "dlzoo.data.text.folder",
    "dlzoo.data.text_preprocess": "dlzoo.data.text.preprocess",
    "dlzoo.data.timeseries": "dlzoo.data.series.windowed",
    "dlzoo.data.tokenizer": "dlzoo.data.text.tokenizer",
    "dlzoo.data.tu": "dlzoo.data.graph.tu",
    "dlzoo.data.ucr": "dlzoo.data.series.ucr",
    "dlzoo.data.video": "dlzoo.data.video.datamodule",
    "dlzoo.data.video_folder": "dlzoo.data.video.folder",
    "dlzoo.data.wrapped": "dlzoo.data.derived.wrapped",
}
# objects of the modules that were split: old path -> new path
SPLIT: dict[str, str] = {
    "dlzoo.data.image.DigitsDataModule": "dlzoo.data.image.packaged.DigitsDataModule",
    "dlzoo.data.image.FashionMNISTDataModule": "dlzoo.data.image.fashion.FashionMNISTDataModule",
    "dlzoo.data.image.ImageFolderDataModule": "dlzoo.data.image.folder.ImageFolderDataModule",
    "dlzoo.data.image.MNISTDataModule": "dlzoo.data.image.packaged.MNISTDataModule",
    "dlzoo.data.image.read_idx": "dlzoo.data.image.fashion.read_idx",
    "dlzoo.data.timeseries.AirlineDataModule": "dlzoo.data.series.packaged.AirlineDataModule",
    "dlzoo.data.timeseries.CO2DataModule": "dlzoo.data.series.packaged.CO2DataModule",
    "dlzoo.data.timeseries.CSVSeriesDataModule": "dlzoo.data.series.csv_files.CSVSeriesDataModule",
    "dlzoo.data.timeseries.PackagedSeriesDataModule": (
        "dlzoo.data.series.packaged.PackagedSeriesDataModule"
    ),
    "dlzoo.data.timeseries.SunspotsDataModule": "dlzoo.data.series.packaged.SunspotsDataModule",
    "dlzoo.data.timeseries.chronological_bounds": "dlzoo.data.series.windows.chronological_bounds",
    "dlzoo.data.timeseries.sliding_windows": "dlzoo.data.series.windows.sliding_windows",
}


def current_target(target: str) -> str:
    """Today's path of ``target``: itself unless it names an object of a moved module.

    Args:
        target: a ``_target_`` value, e.g. ``dlzoo.data.timeseries.SunspotsDataModule``.
    """
    if target in SPLIT:
        return SPLIT[target]
    module, _, name = target.rpartition(".")
    # one name after the old module: a new path (module.submodule.Class) is left alone
    return f"{MOVED[module]}.{name}" if module in MOVED else target


def upgrade_targets(node: DictConfig | ListConfig) -> int:
    """Rewrite every old ``_target_`` in a config, in place.

    Args:
        node: a config, walked recursively without resolving its interpolations.

    Returns:
        How many targets were rewritten.
    """
    changed = 0
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    if isinstance(target, str) and current_target(target) != target:
        node._target_ = current_target(target)
        changed += 1
    keys = list(node.keys()) if isinstance(node, DictConfig) else range(len(node))
    for key in keys:
        # private, and kept: OmegaConf has no public way to read a child node without
        # resolving its interpolations (${hydra:...} cannot resolve outside a run)
        child = node._get_node(key)
        if isinstance(child, DictConfig | ListConfig):
            changed += upgrade_targets(child)
    return changed
