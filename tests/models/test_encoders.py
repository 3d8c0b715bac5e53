"""Vector encoder shapes (the entity encoder is tested in test_entity_encoder.py)."""
from __future__ import annotations

import torch

from models.encoders import VectorEncoder


def test_vector_encoder_maps_observations_to_features():
    assert VectorEncoder(10, 24).forward(torch.randn(2, 5, 10)).shape == (2, 5, 24)
