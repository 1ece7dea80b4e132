"""Hydra's ``instantiate`` for dlzoo's config nodes: dlzoo's own errors reach the user
as they are (Hydra would wrap them).
"""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate as hydra_instantiate
from omegaconf import DictConfig

from dlzoo.errors import DlzooError


def instantiate(node: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` that lets dlzoo's own errors through unwrapped.

    Hydra wraps whatever a constructor raises in ``InstantiationException``; a
    :class:`DlzooError` is a message for the user and must reach them as it is.
    """
    try:
        return hydra_instantiate(node, **kwargs)
    except InstantiationException as exc:
        if isinstance(exc.__cause__, DlzooError):
            raise exc.__cause__ from None
        raise


def instantiate_dict(node: DictConfig | None) -> list[Any]:
    """Instantiate every non-null ``_target_`` entry of a name -> config mapping."""
    if not node:
        return []
    return [instantiate(v) for v in node.values() if v is not None and "_target_" in v]
