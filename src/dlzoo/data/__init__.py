"""Datamodules and the pieces they share: splits, whole-batch loaders, downloads.

Every datamodule is a ``LightningDataModule`` with ``net_kwargs()``, ``num_classes``,
``name``; classification datamodules also have ``num_classes`` and ``class_names``.
See :mod:`dlzoo.data.image` (images), :mod:`dlzoo.data.timeseries` (windowed
forecasting) and :mod:`dlzoo.data.ucr` (UCR / UEA sequence classification).
"""

from dlzoo.data.augment import BatchAugment, build_augment
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
from dlzoo.data.splits import carve_validation, stratified_split
from dlzoo.data.ucr import PaddedSequenceLoader, UCRDataModule

__all__ = [
    "BatchAugment",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "ImageArrays",
    "ImageDataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "PaddedSequenceLoader",
    "RemoteFile",
    "TensorBatchLoader",
    "UCRDataModule",
    "build_augment",
    "carve_validation",
    "download_file",
    "ensure_files",
    "md5sum",
    "read_idx",
    "stratified_split",
]
