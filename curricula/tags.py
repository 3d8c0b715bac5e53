"""Level tags: the int64 an env row carries (``level_id``) to say which level it runs and why.

A negative tag is the world's own random level (the env encodes the seed and reset counter it was
drawn from). Tags a curriculum assigns are ``kind << 56 | serial``: ``REPLAY`` (a buffer level, its
serial the buffer entry's uid) or ``NEW`` (a level the curriculum made, e.g. an ACCEL mutant). Any
other non-negative tag (``env.set_levels``' default ids) is ``EXTERNAL``: no sampler tracks it.
"""
from __future__ import annotations

import torch

KIND_SHIFT = 56
RANDOM, REPLAY, NEW, EXTERNAL = 0, 1, 2, 3
SERIAL_MASK = (1 << KIND_SHIFT) - 1


def make_tags(kind: int, serial: torch.Tensor) -> torch.Tensor:
    """Tags ``[k]`` of one kind for serials ``[k]`` (non-negative, below 2**56)."""
    return (serial.long() & SERIAL_MASK) | (kind << KIND_SHIFT)


def tag_kind(tags: torch.Tensor) -> torch.Tensor:
    """``RANDOM`` for the world's random levels, the kind a curriculum set, or ``EXTERNAL``."""
    kind = tags >> KIND_SHIFT
    kind = torch.where((kind == REPLAY) | (kind == NEW), kind, torch.full_like(kind, EXTERNAL))
    return torch.where(tags < 0, torch.full_like(tags, RANDOM), kind)


def tag_serial(tags: torch.Tensor) -> torch.Tensor:
    """The serial part of curriculum tags (meaningless for negative tags)."""
    return tags & SERIAL_MASK
