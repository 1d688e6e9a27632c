"""MSCMR NIfTI volumes -> 2-D PNG slices, and back to the voxel grid."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmscribble.datasets.converters.mscmr import (convert_mscmr,
                                                  convert_volume, load_meta,
                                                  load_nifti, restore_volume)

# The shared data sits next to the repository (``../shared/data/mscmr``).
MSCMR = os.environ.get(
    'MMSCRIBBLE_MSCMR',
    osp.join(
        osp.dirname(__file__), '..', '..', '..', '..', 'shared', 'data',
        'mscmr'))
# The two 400 x 400 volumes: the smallest files of each split.
TRAIN, VAL = 'subject9_DE', 'subject41_DE'

needs_mscmr = pytest.mark.skipif(
    not osp.isdir(MSCMR), reason=f'optional extra: no MSCMR data at {MSCMR}')


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('mscmr'))
    meta = convert_mscmr(MSCMR, out, subjects=[TRAIN, VAL])
    return out, meta


def read_png(path):
    with Image.open(path) as img:
        assert img.mode == 'L'
        return np.array(img)


def dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


@needs_mscmr
def test_layout_and_splits(converted):
    out, meta = converted
    assert set(meta['volumes']) == {TRAIN, VAL}
    for split, stem in (('train', TRAIN), ('val', VAL)):
        entry = meta['volumes'][stem]
        assert entry['split'] == split
        assert entry['shape'] == [400, 400, 15]
        assert entry['slices'] == [f'{stem}_slice{k:02d}' for k in range(15)]
        with open(osp.join(out, 'splits', split + '.txt')) as f:
            assert f.read().splitlines() == entry['slices']
        for name in entry['slices']:
            img = read_png(osp.join(out, 'img_dir', split, name + '.png'))
            lab = read_png(osp.join(out, 'ann_dir', split, name + '.png'))
            assert img.shape == lab.shape == (212, 212)
    with open(osp.join(out, 'meta.json')) as f:
        assert json.load(f) == meta
    assert load_meta(osp.join(out, 'meta.json')) == meta


@needs_mscmr
def test_geometry_recorded(converted):
    _, meta = converted
    assert meta['target_spacing'] == 1.367
    assert meta['crop_size'] == [212, 212]
    entry = meta['volumes'][VAL]
    assert entry['spacing'][:2] == pytest.approx([0.75, 0.75])
    # 400 px * 0.75 mm / 1.367 mm = 219.5 -> 219 (rounded from 219.46).
    assert entry['resampled_shape'] == [219, 219]
    assert entry['crop_offset'] == [3, 3]
    assert entry['slice_shape'] == [212, 212]
    assert entry['image'] == osp.join('val', 'images', VAL + '.nii.gz')
    assert len(entry['affine']) == 4


@needs_mscmr
def test_label_values(converted):
    out, meta = converted
    train = np.stack([
        read_png(osp.join(out, 'ann_dir', 'train', s + '.png'))
        for s in meta['volumes'][TRAIN]['slices']
    ])
    val = np.stack([
        read_png(osp.join(out, 'ann_dir', 'val', s + '.png'))
        for s in meta['volumes'][VAL]['slices']
    ])
    # Scribbles: 4 (unlabeled) became 255 and dominates.
    assert set(np.unique(train).tolist()) == {0, 1, 2, 3, 255}
    assert (train == 255).mean() > 0.8
    # Dense masks, no padding at 219 -> 212.
    assert set(np.unique(val).tolist()) == {0, 1, 2, 3}
    img = np.stack([
        read_png(osp.join(out, 'img_dir', 'val', s + '.png'))
        for s in meta['volumes'][VAL]['slices']
    ])
    assert img.min() == 0 and img.max() == 255


@needs_mscmr
def test_restore_round_trip(converted):
    out, meta = converted
    entry = meta['volumes'][VAL]
    preds = [
        read_png(osp.join(out, 'ann_dir', 'val', s + '.png'))
        for s in entry['slices']
    ]
    restored = restore_volume(preds, entry)
    original, _, _ = load_nifti(osp.join(MSCMR, entry['label']))
    assert restored.shape == original.shape
    assert (restored == original).mean() > 0.995
    for c in (1, 2, 3):
        assert dice(restored == c, original == c) > 0.9
    # A (Z, h, w) array works as well as a list.
    np.testing.assert_array_equal(
        restore_volume(np.stack(preds), entry), restored)
    with pytest.raises(ValueError, match='slices'):
        restore_volume(preds[:-1], entry)
    with pytest.raises(ValueError, match='slice shape'):
        restore_volume([p[:100] for p in preds], entry)


@needs_mscmr
def test_unknown_subject():
    with pytest.raises(ValueError, match='subject999'):
        convert_mscmr(MSCMR, '/nonexistent', subjects=['subject999_DE'])


def write_nifti(path, data, spacing):
    import nibabel as nib
    affine = np.diag(list(spacing) + [1.0])
    nib.save(nib.Nifti1Image(data, affine), str(path))


def test_synthetic_identity_and_padding(tmp_path):
    rng = np.random.RandomState(0)
    image = rng.randint(0, 1000, (30, 40, 3)).astype(np.int16)
    label = rng.randint(0, 4, (30, 40, 3)).astype(np.uint8)
    write_nifti(tmp_path / 'img.nii.gz', image, (1.0, 1.0, 5.0))
    write_nifti(tmp_path / 'lab.nii.gz', label, (1.0, 1.0, 5.0))
    # Same spacing, crop larger than the slice: pad, then restore exactly.
    entry = convert_volume(
        str(tmp_path / 'img.nii.gz'),
        str(tmp_path / 'lab.nii.gz'),
        'val',
        str(tmp_path / 'out'),
        'vol',
        target_spacing=1.0,
        crop_size=(32, 36))
    assert entry['resampled_shape'] == [30, 40]
    assert entry['crop_offset'] == [-1, 2]
    slices = [
        read_png(tmp_path / 'out' / 'ann_dir' / 'val' / (s + '.png'))
        for s in entry['slices']
    ]
    assert (slices[0][0] == 255).all() and (slices[0][-1] == 255).all()
    # Columns cropped away are lost; restore fills them with ``fill``.
    restored = restore_volume(slices, entry, fill=7)
    np.testing.assert_array_equal(restored[:, 2:38], label[:, 2:38])
    assert (restored[:, :2] == 7).all() and (restored[:, 38:] == 7).all()
    # No crop: the identity.
    entry = convert_volume(
        str(tmp_path / 'img.nii.gz'),
        str(tmp_path / 'lab.nii.gz'),
        'val',
        str(tmp_path / 'out2'),
        'vol',
        target_spacing=1.0,
        crop_size=None)
    slices = [
        read_png(tmp_path / 'out2' / 'ann_dir' / 'val' / (s + '.png'))
        for s in entry['slices']
    ]
    np.testing.assert_array_equal(restore_volume(slices, entry), label)


def test_synthetic_label_checks(tmp_path):
    image = np.zeros((20, 20, 2), dtype=np.int16)
    write_nifti(tmp_path / 'img.nii.gz', image, (1.0, 1.0, 5.0))
    label = np.zeros((20, 20, 2), dtype=np.uint8)
    label[5, 5, 0] = 4
    write_nifti(tmp_path / 'scribble.nii.gz', label, (1.0, 1.0, 5.0))
    args = (str(tmp_path / 'img.nii.gz'), str(tmp_path / 'scribble.nii.gz'))
    # 4 = unlabeled is allowed in train (-> 255), not in val.
    entry = convert_volume(
        *args,
        'train',
        str(tmp_path / 'out'),
        target_spacing=1.0,
        crop_size=None)
    lab = read_png(tmp_path / 'out' / 'ann_dir' / 'train' /
                   (entry['slices'][0] + '.png'))
    assert lab[5, 5] == 255 and (lab != 255).sum() == 399
    with pytest.raises(ValueError, match=r'scribble.nii.gz.*\[4\]'):
        convert_volume(*args, 'val', str(tmp_path / 'out'))
    write_nifti(tmp_path / 'small.nii.gz', label[:10], (1.0, 1.0, 5.0))
    with pytest.raises(ValueError, match=r'img.nii.gz.*small.nii.gz'):
        convert_volume(args[0], str(tmp_path / 'small.nii.gz'), 'val',
                       str(tmp_path / 'out'))
    with pytest.raises(ValueError, match='split'):
        convert_volume(*args, 'test', str(tmp_path / 'out'))
