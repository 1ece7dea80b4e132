"""Metrics that torchmetrics lacks."""

from dlzoo.metrics.mase import MeanAbsoluteScaledError

__all__ = ["MeanAbsoluteScaledError"]
