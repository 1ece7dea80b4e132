"""Data larger than memory: tar shards written by ``dlzoo-shard`` and streamed from a
folder or a URL, with the fitted preprocessing computed in one pass.
"""
