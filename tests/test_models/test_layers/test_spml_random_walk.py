"""SPML stage-2 random walk: transition, mat-vec walk == squaring."""
import pytest
import torch
import torch.nn.functional as F

from mmscribble.models.layers.spml_random_walk import (random_walk_matvec,
                                                       random_walk_squaring,
                                                       spml_pseudo_label,
                                                       spml_transition)


def test_transition_equals_naive_form():
    g = torch.Generator().manual_seed(0)
    e = F.normalize(
        torch.randn(2, 3, 3, 4, generator=g, dtype=torch.float64), dim=1)
    t = spml_transition(e, gamma=5.0, beta=3.0)
    f = e.flatten(2).transpose(1, 2)
    naive = torch.softmax(5.0 * f @ f.transpose(1, 2), dim=-1)**3
    naive = naive / naive.sum(1, keepdim=True)
    assert torch.allclose(t, naive)
    assert torch.allclose(t.sum(1), torch.ones(2, 12, dtype=torch.float64))
    # beta = 20 underflows the naive power in float32 for dissimilar
    # pairs; the log-domain form stays finite with unit columns.
    t32 = spml_transition(e.float(), 5.0, 20.0)
    assert torch.isfinite(t32).all()
    assert torch.allclose(t32.sum(1), torch.ones(2, 12), atol=1e-5)


def test_matvec_equals_squaring():
    g = torch.Generator().manual_seed(1)
    e = F.normalize(
        torch.randn(2, 4, 5, 5, generator=g, dtype=torch.float64), dim=1)
    t = spml_transition(e, 5.0, 2.0)
    m = torch.rand(2, 3, 25, generator=g, dtype=torch.float64)
    for k in (0, 1, 3, 6):
        assert torch.allclose(
            random_walk_matvec(m, t, 2**k), random_walk_squaring(m, t, k))
    with pytest.raises(ValueError, match='scores'):
        random_walk_matvec(m[:, :, :4], t)


def test_pseudo_label_spreads_within_a_cluster_and_keeps_tags():
    # Left half of the map embeds to one direction, right half another.
    e = torch.zeros(1, 2, 4, 6)
    e[0, 0, :, :3] = 1
    e[0, 1, :, 3:] = 1
    logits = torch.zeros(1, 3, 4, 6)
    logits[0, 1, 0, 0] = 5  # one confident left pixel: class 1
    logits[0, 2, 3, 5] = 5  # one confident right pixel: class 2
    logits[0, 0, 3, 5] = 9  # ... but class 0 more, outside the tags
    tags = torch.tensor([[False, True, True]])
    _, label = spml_pseudo_label(e, logits, tags, gamma=5.0, beta=20.0)
    assert (label[0, :, :3] == 1).all() and (label[0, :, 3:] == 2).all()
    _, label = spml_pseudo_label(e, logits, None)
    assert (label[0, :, 3:] == 0).all()
