"""Datamodules made from another datamodule: pairs and triplets for siamese nets, and
inputs as their own targets for autoencoders.
"""
