"""Every per-pixel map follows every geometric transform of the image."""
import numpy as np
import pytest

from mmscribble.datasets.transforms import (PackScribbleInputs,
                                            ScribbleGaussianBlur, ScribblePad,
                                            ScribbleRandomCrop,
                                            ScribbleRandomFlip,
                                            ScribbleRandomResize,
                                            ScribbleRandomRot90,
                                            ScribbleRandomRotate)


def coord_results(h=40, w=60):
    """Image and maps that encode the pixel's column / row index.

    Channel 0 of the image is the column, channel 1 the row; the scribble map
    holds the column mod 20 on a sparse grid, the boundary map row mod 2, the
    superpixel ids row * w + col: each can be checked against the image after
    any nearest-neighbour geometry.
    """
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx, yy, np.zeros_like(xx)], -1).astype(np.uint8)
    scrib = np.full((h, w), 255, np.uint8)
    scrib[::3, ::3] = (xx % 20)[::3, ::3]
    return dict(
        img=img,
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_seg_map=scrib,
        gt_valid_mask=np.ones((h, w), np.uint8),
        gt_boundary_map=(yy % 2).astype(np.uint8),
        gt_superpixel=(yy * w + xx).astype(np.int32),
        seg_fields=[
            'gt_seg_map', 'gt_valid_mask', 'gt_boundary_map', 'gt_superpixel'
        ])


def assert_aligned(r):
    img = r['img'].astype(np.int64)
    valid = r['gt_valid_mask'] == 1
    col, row = img[..., 0], img[..., 1]
    w0 = 60
    sp = r['gt_superpixel']
    np.testing.assert_array_equal(sp[valid], (row * w0 + col)[valid])
    np.testing.assert_array_equal(r['gt_boundary_map'][valid],
                                  (row % 2)[valid])
    lab = r['gt_seg_map']
    m = valid & (lab != 255)
    np.testing.assert_array_equal(lab[m], (col % 20)[m])


def test_flip_moves_every_map():
    r = ScribbleRandomFlip(prob=1.0)(coord_results())
    assert r['flip'] and r['flip_direction'] == 'horizontal'
    assert r['img'][0, 0, 0] == 59
    assert_aligned(r)
    r = ScribbleRandomFlip(prob=1.0, direction='vertical')(coord_results())
    assert r['img'][0, 0, 1] == 39
    assert_aligned(r)


@pytest.mark.parametrize('k', [1, 2, 3])
def test_rot90_moves_every_map(k, monkeypatch):
    monkeypatch.setattr(np.random, 'randint', lambda low, high: k)
    r = ScribbleRandomRot90(prob=1.0)(coord_results())
    assert r['rot90_k'] == k
    shape = (40, 60) if k == 2 else (60, 40)
    assert r['img_shape'] == shape and r['img'].shape[:2] == shape
    assert all(r[key].shape == shape for key in r['seg_fields'])
    assert_aligned(r)
    # counter-clockwise: after one quarter turn the top-right pixel
    # (row 0, column 59) is at the top left
    if k == 1:
        assert tuple(r['img'][0, 0, :2]) == (59, 0)
    assert r['gt_superpixel'].dtype == np.int32


def test_rot90_four_quarter_turns_and_prob_zero_are_identity(monkeypatch):
    orig = coord_results()
    out = ScribbleRandomRot90(prob=0.0)(coord_results())
    assert out['rot90_k'] == 0
    np.testing.assert_array_equal(out['img'], orig['img'])
    monkeypatch.setattr(np.random, 'randint', lambda low, high: 1)
    r = coord_results()
    for _ in range(4):
        r = ScribbleRandomRot90(prob=1.0)(r)
    for key in ['img'] + orig['seg_fields']:
        np.testing.assert_array_equal(r[key], orig[key])
    with pytest.raises(ValueError, match='prob must be in'):
        ScribbleRandomRot90(prob=1.5)


def test_crop_moves_every_map():
    np.random.seed(3)
    r = ScribbleRandomCrop((16, 24))(coord_results())
    assert r['img'].shape[:2] == (16, 24)
    for k in r['seg_fields']:
        assert r[k].shape == (16, 24)
    assert_aligned(r)


def test_crop_larger_than_image_keeps_image():
    r = ScribbleRandomCrop((100, 100))(coord_results())
    assert r['img'].shape[:2] == (40, 60)


def test_pad_fills_each_map_with_its_value():
    r = ScribblePad(size=(50, 64), img_pad_val=7)(coord_results())
    assert r['img'].shape == (50, 64, 3)
    assert (r['img'][40:] == 7).all()
    assert (r['gt_seg_map'][40:] == 255).all()
    assert (r['gt_seg_map'][:, 60:] == 255).all()
    assert (r['gt_valid_mask'][40:] == 0).all()
    assert (r['gt_valid_mask'][:40, :60] == 1).all()
    assert (r['gt_boundary_map'][40:] == 255).all()
    assert (r['gt_superpixel'][40:] == -1).all()
    assert r['padding_size'] == (0, 4, 0, 10)
    assert_aligned(r)
    r = ScribblePad(size_divisor=32)(coord_results())
    assert r['img'].shape[:2] == (64, 64)


def test_resize_nearest_for_maps():
    np.random.seed(0)
    r = ScribbleRandomResize(ratio_range=(2.0, 2.0),
                             interpolation='nearest')(coord_results())
    assert r['img'].shape[:2] == (80, 120)
    for k in r['seg_fields']:
        assert r[k].shape == (80, 120)
    # nearest: no new label values are invented
    assert set(np.unique(r['gt_seg_map'])) <= set(range(20)) | {255}
    assert_aligned(r)
    assert r['scale_factor'] == (2.0, 2.0)


def test_resize_with_scale_keeps_ratio():
    r = ScribbleRandomResize(scale=(120, 20), ratio_range=None)(
        coord_results())
    assert r['img'].shape[:2] == (20, 30)


def test_rotate_fills_corners():
    np.random.seed(1)
    t = ScribbleRandomRotate(prob=1.0, degree=10, img_pad_val=(0, 0, 200))
    r = t(coord_results())
    angle = r['rotate_angle']
    assert -10 <= angle <= 10 and angle != 0
    corners = r['gt_valid_mask'] == 0
    assert corners.any() and corners.mean() < 0.2
    assert (r['gt_seg_map'][corners] == 255).all()
    assert (r['gt_boundary_map'][corners] == 255).all()
    assert (r['gt_superpixel'][corners] == -1).all()
    assert set(np.unique(r['gt_seg_map'])) <= set(range(20)) | {255}


def test_rotate_prob_zero_is_identity():
    r0 = coord_results()
    r = ScribbleRandomRotate(prob=0.0)(coord_results())
    for k in r0['seg_fields'] + ['img']:
        np.testing.assert_array_equal(r[k], r0[k])


def test_blur_touches_image_only():
    r0 = coord_results()
    r = ScribbleGaussianBlur(prob=1.0)(coord_results())
    assert not np.array_equal(r['img'], r0['img'])
    for k in r0['seg_fields']:
        np.testing.assert_array_equal(r[k], r0[k])


def test_unknown_map_is_an_error():
    r = coord_results()
    r['gt_mystery'] = np.zeros((40, 60), np.uint8)
    r['seg_fields'].append('gt_mystery')
    with pytest.raises(KeyError, match='gt_mystery'):
        ScribbleRandomFlip(prob=1.0)(r)


def test_bad_arguments():
    with pytest.raises(ValueError, match='kernel_size'):
        ScribbleGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match='ratio_range'):
        ScribbleRandomResize(ratio_range=(2, 1))
    with pytest.raises(ValueError, match='direction'):
        ScribbleRandomFlip(direction='diagonal')
    with pytest.raises(ValueError, match='exactly one'):
        ScribblePad()


def test_pack_carries_every_map():
    r = coord_results()
    r['img_tags'] = [0, 3]
    out = PackScribbleInputs()(r)
    s = out['data_samples']
    assert tuple(out['inputs'].shape) == (3, 40, 60)
    assert s.gt_sem_seg.data.dtype.is_floating_point is False
    assert tuple(s.gt_boundary_map.shape) == (40, 60)
    assert s.gt_superpixel.data.max() == 40 * 60 - 1
    assert s.metainfo['img_tags'] == [0, 3]


def test_pack_rejects_misaligned_map():
    r = coord_results()
    r['gt_boundary_map'] = r['gt_boundary_map'][:10]
    with pytest.raises(ValueError, match='gt_boundary_map'):
        PackScribbleInputs()(r)


def test_random_crop_cat_max_ratio_resamples_single_class_crops():
    # Columns 0-1 are class 0, columns 2-3 class 1 (one unlabeled pixel):
    # of the three 2x2 crops only the middle one (x1 = 1) holds two
    # classes. With cat_max_ratio 0.75 a one-class crop is redrawn up to
    # 10 times, so nearly every seed ends on the middle crop; without it a
    # third of them do.
    seg = np.array([[0, 0, 1, 1], [0, 0, 1, 255]], np.uint8)

    def middle_crops(ratio):
        t = ScribbleRandomCrop((2, 2), cat_max_ratio=ratio)
        hits = 0
        for seed in range(30):
            np.random.seed(seed)
            out = t(
                dict(
                    img=np.zeros((2, 4, 3), np.uint8),
                    gt_seg_map=seg.copy(),
                    seg_fields=['gt_seg_map']))
            hits += out['crop_bbox'][2] == 1
            if out['crop_bbox'][2] == 1:
                assert out['gt_seg_map'].tolist() == [[0, 1], [0, 1]]
        return hits

    assert middle_crops(0.75) >= 28
    assert middle_crops(1.0) <= 18
