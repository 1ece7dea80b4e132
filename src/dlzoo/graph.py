"""PyTorch Geometric, imported on demand by graph code only.

``import dlzoo`` and every run without graphs never import ``torch_geometric`` (it is
the optional ``graph`` extra, and importing it costs a second and raises a
DeprecationWarning from its use of ``torch.jit.script`` under torch 2.13). Graph
datamodules, nets and tasks call :func:`pyg` where they need it.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from types import ModuleType

from dlzoo.errors import ConfigError

__all__ = ["pyg"]

INSTALL = "run `make setup` (or `pip install -e .[graph]`)"


@functools.cache
def pyg(submodule: str = "") -> ModuleType:
    """``torch_geometric`` (or ``torch_geometric.<submodule>``), imported quietly.

    Args:
        submodule: e.g. ``"nn"``, ``"data"``, ``"loader"``, ``"datasets"``.

    Raises:
        ConfigError: PyTorch Geometric is not installed; names the install command.
    """
    name = "torch_geometric" + (f".{submodule}" if submodule else "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "torch_geometric":
            raise ConfigError(f"graph data and nets need PyTorch Geometric: {INSTALL}") from None
        raise
