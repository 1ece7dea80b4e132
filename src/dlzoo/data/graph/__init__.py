"""Graph data with PyTorch Geometric (imported from the submodules, so that runs without
graphs never load PyG): :mod:`~dlzoo.data.graph.base`, karate, Planetoid, TU
datasets and a user's CSV tables.
"""
