"""Batched spherical k-means of SPML / SegSort against per-image loops."""
import torch
import torch.nn.functional as F

from mmscribble.models.layers.spherical_kmeans import (
    grid_init, grid_shape, spherical_kmeans, spherical_kmeans_reference)


def test_grid_init():
    assert grid_shape(36, 16, 16) == (6, 6)
    assert grid_shape(4, 2, 8) == (1, 4)
    z = grid_init(1, 4, 4, 4)
    assert z.view(4, 4).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3],
                                     [2, 2, 3, 3]]


def test_batched_equals_reference():
    g = torch.Generator().manual_seed(0)
    emb = F.normalize(
        torch.randn(3, 5, 9, 11, generator=g, dtype=torch.float64), dim=1)
    valid = torch.ones(3, 9, 11, dtype=torch.bool)
    valid[1, :, 8:] = False  # padding
    valid[2, 5:] = False
    for k, it in ((4, 10), (9, 3), (36, 10)):
        z = spherical_kmeans(emb, k, it, valid)
        ref = spherical_kmeans_reference(emb, k, it, valid)
        assert torch.equal(z, ref)
        assert (z[~valid] == -1).all() and (z[valid] >= 0).all()


def test_two_regions_separate():
    # Left half one direction, right half another: 2 clusters find them.
    emb = torch.zeros(1, 2, 4, 6)
    emb[0, 0, :, :3] = 1
    emb[0, 1, :, 3:] = 1
    z = spherical_kmeans(emb, 2, 5, coord_weight=0.0)
    assert (z[0, :, :3] == z[0, 0, 0]).all()
    assert (z[0, :, 3:] == z[0, 0, 5]).all() and z[0, 0, 0] != z[0, 0, 5]


def test_assignments_do_not_depend_on_autocast():
    # Issue 26: under float16 autocast the E-step's bmm ran in float16 and
    # 2% of the pixels changed cluster; k-means runs in float32 anyway.
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(2, 32, 24, 24, generator=g)
    ref = spherical_kmeans(emb, 36, 10)
    for dtype in (torch.float16, torch.bfloat16):
        with torch.autocast('cpu', dtype=dtype):
            z = spherical_kmeans(emb, 36, 10)
            z_half = spherical_kmeans(emb.to(dtype), 36, 10)
        assert torch.equal(z, ref), dtype
        # A half-precision embedding is clustered as its float32 value.
        assert torch.equal(z_half, spherical_kmeans(emb.to(dtype).float()))
