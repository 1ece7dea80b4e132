"""Callbacks: a cheap progress bar and figures for TensorBoard."""
