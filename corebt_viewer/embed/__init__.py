"""Embeddings: tissue detection, tiling, encoders per modality and the on-disk cache."""
