"""Datamodules and the pieces they share.

Every datamodule meets :class:`~dlzoo.data.base.DlzooDataModule` (``name``,
``net_kwargs()``, ``task_kwargs()``, ``split_record()``, ``fitted_state()``,
``load_fitted_state()``, ``predict_inputs()``, ``input_transform()``); classification
datamodules also have ``num_classes`` and ``class_names``.

The shared machinery sits here: the contract (:mod:`~dlzoo.data.base`), in-memory
datamodules and whole-batch loaders (:mod:`~dlzoo.data.memory`,
:mod:`~dlzoo.data.loaders`, :mod:`~dlzoo.data.sequence_loader`), splits, subsets,
fitted preprocessing (:mod:`~dlzoo.data.preprocess`, :mod:`~dlzoo.data.state`),
readers, downloads and augmentation. Then one subpackage per family:

- :mod:`dlzoo.data.image`: digits, MNIST, FashionMNIST, a folder of images;
- :mod:`dlzoo.data.series`: windowed forecasting and UCR / UEA sequence classification;
- :mod:`dlzoo.data.text`: text classification (imported from there, so that runs
  without text never load the tokenizers library);
- :mod:`dlzoo.data.graph`: PyTorch Geometric graphs (imported from there, so that runs
  without graphs never load PyG);
- :mod:`dlzoo.data.video`: 5-D clips;
- :mod:`dlzoo.data.derived`: pairs, triplets and reconstruction made from another
  datamodule;
- :mod:`dlzoo.data.streaming`: tar shards larger than memory.
"""

from dlzoo.data.augment import BatchAugment, build_augment
from dlzoo.data.base import DlzooDataModule, PredictInputs
from dlzoo.data.download import RemoteFile, download_file, ensure_files, md5sum
from dlzoo.data.image.datamodule import ImageArrays, ImageDataModule
from dlzoo.data.image.fashion import FashionMNISTDataModule, read_idx
from dlzoo.data.image.folder import ImageFolderDataModule
from dlzoo.data.image.packaged import DigitsDataModule, MNISTDataModule
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.data.memory import InMemoryDataModule
from dlzoo.data.preprocess import AffineScaler, AffineTransform, MaskedAffineTransform
from dlzoo.data.sequence_loader import PaddedSequenceLoader
from dlzoo.data.series.ucr import UCRDataModule
from dlzoo.data.splits import carve_validation, fold_split, stratified_split

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
