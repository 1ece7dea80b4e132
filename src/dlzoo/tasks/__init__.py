"""LightningModules: what is optimised (classification, forecasting, node
classification, reconstruction, anomaly detection, metric learning, JEPA).
"""
