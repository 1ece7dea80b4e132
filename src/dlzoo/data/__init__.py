"""Datamodules and the pieces they share: splits, whole-batch loaders, downloads.

Every datamodule is a ``LightningDataModule`` with ``net_kwargs()``, ``num_classes``,
``class_names`` and ``name``; see :mod:`dlzoo.data.image` for the image datasets.
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

__all__ = [
    "BatchAugment",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "ImageArrays",
    "ImageDataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "RemoteFile",
    "TensorBatchLoader",
    "build_augment",
    "carve_validation",
    "download_file",
    "ensure_files",
    "md5sum",
    "read_idx",
    "stratified_split",
]
