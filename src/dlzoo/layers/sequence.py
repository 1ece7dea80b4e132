"""The blocks of the sequence nets, under the one import path that older code uses.

They live by idea in :mod:`dlzoo.layers.temporal_pool` (padding masks and pooling over
time), :mod:`dlzoo.layers.attention` (additive attention pooling),
:mod:`dlzoo.layers.temporal_conv` (masked batch norm and the 1-d convolution unit) and
:mod:`dlzoo.layers.heads` (:class:`~dlzoo.layers.heads.SequenceHead`); this module
re-exports them, so ``from dlzoo.layers.sequence import SequenceHead`` keeps working.

A batch of sequences is ``(B, T, H)``, zero-padded after each sequence's end, with
``lengths`` (B,) or the equivalent ``mask`` (B, T) (``True`` on real steps). ``None``
for either means every sequence is full length. Every block gives the same result for
a sequence whether it is alone or padded in a batch.
"""

# star imports, so that a name added to one of the modules is re-exported here too
from dlzoo.layers import attention, temporal_conv, temporal_pool
from dlzoo.layers.attention import *  # noqa: F403
from dlzoo.layers.heads import SequenceHead
from dlzoo.layers.temporal_conv import *  # noqa: F403
from dlzoo.layers.temporal_pool import *  # noqa: F403

__all__ = [
    *attention.__all__,
    "SequenceHead",
    *temporal_conv.__all__,
    *temporal_pool.__all__,
]
