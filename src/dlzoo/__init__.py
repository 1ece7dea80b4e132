"""dlzoo: one Lightning + Hydra framework for the deep-learning curriculum.

From a notebook: ``result = dlzoo.fit("digits_cnn", "model.dropout=0.2", seed=0)``
trains as ``dlzoo-train`` does and returns a :class:`~dlzoo.run.result.Result`;
``dlzoo.load(run_dir)`` opens a finished run, ``dlzoo.compare`` tables several, and
``dlzoo.datamodule("digits_cnn")`` is an experiment's data, set up. They load on first
use, so ``import dlzoo`` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Result", "__version__", "compare", "datamodule", "fit", "load"]

# the ${dlzoo.*:...} resolvers that name run, sweep and trial directories and the data
# cache (conf/hydra/default.yaml, conf/paths/default.yaml): registered on import
from dlzoo.config.resolvers import register_resolvers as _register_resolvers

_register_resolvers()

# name -> module: imported when first asked for (they bring torch and Lightning)
_LAZY = {
    "fit": "dlzoo.run.notebook",
    "datamodule": "dlzoo.run.notebook",
    "load": "dlzoo.run.result",
    "compare": "dlzoo.run.result",
    "Result": "dlzoo.run.result",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dlzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
