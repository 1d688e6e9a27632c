"""HD95 and ASD in mm: hand-worked cubes with anisotropic spacing, a
brute-force reference over every pair of surface voxels, the empty-mask
convention and the crop that keeps the transforms small."""
import math

import numpy as np
import pytest

from mmscribble.evaluation.surface_distance import (directed_surface_distances,
                                                    hd95_asd, surface)


def brute_force(a, b, spacing):
    """medpy's definitions, written out: every surface voxel's distance to
    the nearest surface voxel of the other mask, by all pairs."""

    def surf(m):
        # A voxel is inside when its six neighbours are in the mask
        # (outside the volume counts as background).
        p = np.pad(m, 1)
        inner = m.copy()
        for ax in range(3):
            for step in (1, -1):
                inner &= np.roll(p, step, axis=ax)[1:-1, 1:-1, 1:-1]
        return np.argwhere(m & ~inner) * np.asarray(spacing)

    pa, pb = surf(a), surf(b)
    d = np.sqrt(((pa[:, None] - pb[None])**2).sum(-1))
    return d.min(1), d.min(0)


def test_cubes_offset_along_the_thick_axis_hand_worked():
    # Two 3x3x3 cubes, the second k = 4 slices further along z (5 mm
    # slices, 0.7 mm in plane). Each cube's surface is its 26 voxels
    # but the centre: 9 on the near face, 8 in the middle slice, 9 on the
    # far face, whose nearest surface voxel of the other cube is straight
    # along z on its near face: (k - 2), (k - 1), k slices away. So
    # ASD = 5 (9 (k-2) + 8 (k-1) + 9 k) / 26 = 5 (k - 1) = 15 mm, and the
    # 52 pooled distances have their top 18 (ranks 34..51) at 5 k = 20 mm,
    # so the 95th percentile (rank 48.45) is 20 mm.
    a = np.zeros((7, 7, 12), bool)
    b = np.zeros_like(a)
    a[2:5, 2:5, 1:4] = True
    b[2:5, 2:5, 5:8] = True
    spacing = (0.7, 0.7, 5.0)
    assert surface(a).sum() == 26
    hd95, asd = hd95_asd(a, b, spacing)
    assert hd95 == pytest.approx(20.0)
    assert asd == pytest.approx(15.0)
    a2b, b2a = directed_surface_distances(a, b, spacing)
    assert sorted(a2b) == pytest.approx([10.0] * 9 + [15.0] * 8 + [20.0] * 9)
    np.testing.assert_allclose(np.sort(b2a), np.sort(a2b))


def test_single_voxels_anisotropic():
    a = np.zeros((4, 4, 4), bool)
    b = np.zeros_like(a)
    a[0, 0, 0] = b[2, 1, 0] = True
    hd95, asd = hd95_asd(a, b, (0.5, 2.0, 3.0))
    assert hd95 == asd == pytest.approx(math.sqrt(1.0 + 4.0))
    assert hd95_asd(a, a, (0.5, 2.0, 3.0)) == (0.0, 0.0)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_equals_brute_force_on_random_volumes(seed):
    rng = np.random.default_rng(seed)
    shape = (6, 7, 5)
    a = rng.random(shape) < 0.35
    b = rng.random(shape) < 0.25
    # A blob off-centre, so the crop to the bounding box matters.
    a[:2] = False
    spacing = (0.75, 1.3, 4.0)
    a2b, b2a = directed_surface_distances(a, b, spacing)
    r_a2b, r_b2a = brute_force(a, b, spacing)
    np.testing.assert_allclose(a2b, r_a2b)
    np.testing.assert_allclose(b2a, r_b2a)
    hd95, asd = hd95_asd(a, b, spacing)
    assert hd95 == pytest.approx(
        np.percentile(np.concatenate([r_a2b, r_b2a]), 95))
    assert asd == pytest.approx(r_a2b.mean())


def test_border_voxels_are_surface_after_the_crop():
    # A full 3x3x3 volume: every voxel but the centre is on the surface,
    # as medpy counts the outside of the volume as background; a mask
    # away from the border cropped to its box must keep its interior.
    full = np.ones((3, 3, 3), bool)
    assert surface(full).sum() == 26
    big = np.zeros((9, 9, 9), bool)
    big[2:7, 2:7, 2:7] = True
    a2b, _ = directed_surface_distances(big, big, (1, 1, 1))
    assert len(a2b) == 125 - 27 and not a2b.any()


def test_empty_masks_give_nan_and_bad_input_is_named():
    a = np.zeros((3, 3, 3), bool)
    b = a.copy()
    b[1, 1, 1] = True
    for pred, gt in ((a, b), (b, a), (a, a)):
        assert all(math.isnan(v) for v in hd95_asd(pred, gt, (1, 1, 1)))
    with pytest.raises(ValueError, match='shape'):
        hd95_asd(b, b[:2], (1, 1, 1))
    with pytest.raises(ValueError, match='spacing'):
        hd95_asd(b, b, (1, 0, 1))
