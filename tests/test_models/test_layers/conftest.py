"""Fixtures shared by the tests of the soft self-labeling layers."""
import pytest
import torch


def _random_problem(seed, n=2, k=3, h=8, w=8):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, h, w, dtype=torch.float64, generator=g) * 2
    img = torch.rand(n, 3, h, w, dtype=torch.float64, generator=g) * 255
    scribble = torch.full((n, h, w), 255)
    mark = torch.rand(n, h, w, generator=g) < 0.1
    scribble[mark] = torch.randint(0, k, (n, h, w), generator=g)[mark]
    scribble[:, 0, 0] = 0  # at least one scribble per image
    return logits, img, scribble


@pytest.fixture
def potts_problem():
    """A factory ``(seed, n=2, k=3, h=8, w=8) -> (logits, img, scribble)``
    of float64 logits, an RGB image in [0, 255] and ~10% scribbled
    pixels (at least the top-left one per image)."""
    return _random_problem
