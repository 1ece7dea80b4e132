"""Datamodules and the pieces they share: splits, whole-batch loaders, downloads.

Every datamodule meets :class:`~dlzoo.data.base.DlzooDataModule` (``name``,
``net_kwargs()``, ``task_kwargs()``, ``split_record()``, ``fitted_state()``,
``load_fitted_state()``, ``predict_inputs()``, ``input_transform()``); classification
datamodules also have ``num_classes`` and ``class_names``. See :mod:`dlzoo.data.base`
for the contract and the names of shapes, :mod:`dlzoo.data.preprocess` for the fitted
preprocessing, and :mod:`dlzoo.data.image` (images), :mod:`dlzoo.data.timeseries`
(windowed forecasting), :mod:`dlzoo.data.ucr` (UCR / UEA sequence classification) and
:mod:`dlzoo.data.text` (text classification: :mod:`~dlzoo.data.text_folder` with
``bbc_news``, :mod:`~dlzoo.data.text_csv`; imported from there, so that runs without text
never load the tokenizers library), :mod:`dlzoo.data.video` (5-D clips:
:mod:`~dlzoo.data.moving_digits`, :mod:`~dlzoo.data.video_folder`) and
:mod:`dlzoo.data.graph_base` (PyTorch Geometric graphs: :mod:`~dlzoo.data.karate`,
:mod:`~dlzoo.data.planetoid`, :mod:`~dlzoo.data.graph_csv`, :mod:`~dlzoo.data.tu`;
imported from there, so that runs without graphs never load PyG).
"""

from dlzoo.data.augment import BatchAugment, build_augment
from dlzoo.data.base import DlzooDataModule, PredictInputs
from dlzoo.data.download import RemoteFile, download_file, ensure_files, md5sum
from dlzoo.data.image import (
    DigitsDataModule,
    FashionMNISTDataModule,
    ImageArrays,
    ImageDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
    read_idx,
)
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.data.memory import InMemoryDataModule
from dlzoo.data.preprocess import AffineScaler, AffineTransform, MaskedAffineTransform
from dlzoo.data.sequence_loader import PaddedSequenceLoader
from dlzoo.data.splits import carve_validation, fold_split, stratified_split
from dlzoo.data.ucr import UCRDataModule

__all__ = [
    "AffineScaler",
    "AffineTransform",
    "BatchAugment",
    "DigitsDataModule",
    "DlzooDataModule",
    "FashionMNISTDataModule",
    "ImageArrays",
    "ImageDataModule",
    "ImageFolderDataModule",
    "InMemoryDataModule",
    "MNISTDataModule",
    "MaskedAffineTransform",
    "PaddedSequenceLoader",
    "PredictInputs",
    "RemoteFile",
    "TensorBatchLoader",
    "UCRDataModule",
    "build_augment",
    "carve_validation",
    "download_file",
    "ensure_files",
    "fold_split",
    "md5sum",
    "read_idx",
    "stratified_split",
]
