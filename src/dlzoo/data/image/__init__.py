"""Image classification data: :mod:`~dlzoo.data.image.datamodule` (what every image
datamodule shares), :mod:`~dlzoo.data.image.packaged` (digits and MNIST, shipped with
dependencies), :mod:`~dlzoo.data.image.fashion` (FashionMNIST, downloaded) and
:mod:`~dlzoo.data.image.folder` (a user's folders of images).
"""
