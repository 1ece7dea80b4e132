"""The model zoo: ``nn.Module`` nets, one file per family, all registered, all with one
API (:class:`~dlzoo.models.base.ZooNet`: ``forward_features``, ``num_features``,
``forward_head``, ``reset_head``).

Importing this package imports every family so that its nets register; use
:func:`create_model` / :func:`list_models` to reach them by name (every
``conf/model/<name>.yaml`` is a name, its values the one copy of that preset).
"""

# imported to register their nets
from dlzoo.models import (  # noqa: F401
    autoencoder,
    cnn,
    cnn_rnn,
    conv1d,
    conv3d,
    decoder,
    dense,
    fcn,
    forecast,
    frame_average,
    graph_nets,
    inception_time,
    jepa,
    mlp_ts,
    resnet_ts,
    rnn,
    siamese,
    text_bag,
    text_cnn,
    text_rnn,
    transformer,
)
from dlzoo.models.base import SequenceNet, ZooNet
from dlzoo.models.registry import (
    create_model,
    get_model_class,
    get_model_defaults,
    list_models,
    model_config_dir,
    register_model,
)

__all__ = [
    "SequenceNet",
    "ZooNet",
    "create_model",
    "get_model_class",
    "get_model_defaults",
    "list_models",
    "model_config_dir",
    "register_model",
]
