import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmscribble.datasets import ScribbleDataset, VOCScribbleDataset

PIPELINE = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='PackScribbleInputs'),
]


def voc(root, **kw):
    kw.setdefault('ann_file', 'ImageSets/SegmentationAug/train.txt')
    kw.setdefault('pipeline', PIPELINE)
    return VOCScribbleDataset(data_root=root, **kw)


def copy_fixture(voc_fixture, tmp_path):
    root = str(tmp_path / 'voc')
    shutil.copytree(voc_fixture, root)
    return root


def test_voc_fixture_scribbles_and_tags(voc_fixture):
    ds = voc(voc_fixture)
    assert len(ds) == 1
    out = ds[0]
    sample = out['data_samples']
    raw = np.array(
        Image.open(
            osp.join(voc_fixture, 'pascal_2012_scribble/2007_000032.png')))
    seg = sample.gt_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(seg, raw)
    labeled = (raw != 255).mean()
    assert 0.005 < labeled < 0.1, labeled  # real scribbles: a few percent
    expected = sorted(int(v) for v in np.unique(raw) if v != 255)
    assert sample.metainfo['img_tags'] == expected
    assert expected == [0, 1, 15]  # background, aeroplane, person
    assert sample.gt_valid_mask.data.shape == (1, 281, 500)
    assert int(sample.gt_valid_mask.data.min()) == 1
    assert tuple(out['inputs'].shape) == (3, 281, 500)


def test_voc_val_dense(voc_fixture):
    ds = voc(
        voc_fixture,
        ann_file='ImageSets/SegmentationAug/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'))
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert (seg != 255).float().mean() > 0.9  # dense


def test_extra_map_loaded(voc_fixture):
    ds = voc(
        voc_fixture,
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='pascal_2012_scribble',
            gt_pseudo_seg='bmp_pseudolabel',
            gt_distance_map='distance_map'))
    s = ds[0]['data_samples']
    raw = np.array(
        Image.open(osp.join(voc_fixture, 'distance_map/2007_000032.png')))
    assert raw.ndim == 3  # CDSP ships RGB PNGs with equal channels
    np.testing.assert_array_equal(s.gt_distance_map.data[0].numpy(),
                                  raw[..., 0].astype(np.float32))
    assert s.gt_pseudo_seg.data.shape == (1, 281, 500)


def test_missing_files_named_before_training(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    path = osp.join(root, 'pascal_2012_scribble/2007_000032.png')
    shutil.move(path, path + '.bak')
    with pytest.raises(FileNotFoundError, match='2007_000032.png'):
        voc(root)


def test_missing_image_named(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    ds = voc(root, check_files=None)
    import os
    os.remove(osp.join(root, 'JPEGImages/2007_000032.jpg'))
    with pytest.raises(FileNotFoundError, match='2007_000032.jpg'):
        ds[0]


def test_empty_split_file(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    open(osp.join(root, 'ImageSets/SegmentationAug/empty.txt'), 'w').close()
    with pytest.raises(ValueError, match='empty.txt lists no samples'):
        voc(root, ann_file='ImageSets/SegmentationAug/empty.txt')


def test_missing_split_file(voc_fixture):
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        voc(voc_fixture, ann_file='nope.txt')


def test_corrupt_png(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    with open(osp.join(root, 'pascal_2012_scribble/2007_000032.png'),
              'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n garbage')
    ds = voc(root)
    with pytest.raises(
            ValueError, match='cannot decode label file .*'
            '2007_000032.png'):
        ds[0]
    with pytest.raises(ValueError, match='2007_000032.png'):
        voc(root, check_files='full')


def test_corrupt_image(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    with open(osp.join(root, 'JPEGImages/2007_000032.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(
            ValueError, match='cannot decode image .*'
            '2007_000032.jpg'):
        voc(root)[0]


def test_size_mismatch(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    path = osp.join(root, 'pascal_2012_scribble/2007_000032.png')
    Image.fromarray(np.full((100, 100), 255, np.uint8)).save(path)
    with pytest.raises(ValueError, match=r'size \(100, 100\).*2007_000032'):
        voc(root)[0]
    with pytest.raises(ValueError, match='2007_000032'):
        voc(root, check_files='full')


def test_class_id_out_of_range(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    path = osp.join(root, 'pascal_2012_scribble/2007_000032.png')
    arr = np.array(Image.open(path))
    arr[0, :5] = 33
    Image.fromarray(arr).save(path)
    with pytest.raises(ValueError, match=r'class ids \[33\] outside 0..20'):
        voc(root)[0]


def test_all_unlabeled_is_valid(voc_fixture, tmp_path):
    root = copy_fixture(voc_fixture, tmp_path)
    path = osp.join(root, 'pascal_2012_scribble/2007_000032.png')
    Image.fromarray(np.full((281, 500), 255, np.uint8)).save(path)
    s = voc(root)[0]['data_samples']
    assert s.metainfo['img_tags'] == []
    assert int((s.gt_sem_seg.data != 255).sum()) == 0


def test_generic_dataset_needs_classes(synthetic_root):
    with pytest.raises(ValueError, match='classes'):
        ScribbleDataset(
            data_root=synthetic_root,
            ann_file='splits/train.txt',
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='ann_dir/scribble'),
            img_suffix='.png')


def test_unknown_data_prefix_key(voc_fixture):
    with pytest.raises(KeyError, match='gt_boundry_map'):
        voc(voc_fixture,
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='x', gt_boundry_map='y'))


def test_pascal_datasets_default_folders(tmp_path):
    from mmscribble.datasets import PascalContextScribbleDataset
    root = str(tmp_path)
    for cls, scribbles in ((VOCScribbleDataset, 'pascal_2012_scribble'),
                           (PascalContextScribbleDataset,
                            'pascal_context_scribble')):
        ds = cls(data_root=root, ann_file='x.txt', lazy_init=True)
        assert ds.data_prefix == dict(
            img_path=osp.join(root, 'JPEGImages'),
            seg_map_path=osp.join(root, scribbles))
        assert (ds.img_suffix, ds.seg_map_suffix) == ('.jpg', '.png')
        ds = cls(
            data_root=root,
            ann_file='x.txt',
            data_prefix=dict(img_path='i', seg_map_path='s'),
            lazy_init=True)
        assert ds.data_prefix == dict(
            img_path=osp.join(root, 'i'), seg_map_path=osp.join(root, 's'))


def test_pseudo_label_class_id_out_of_range_is_named(voc_fixture, tmp_path):
    """A pseudo-label with id 33 of 21 classes fails when loaded and under
    check_files='full', naming the file and the id (it used to reach the
    loss: 'index 33 is out of bounds', naming no file)."""
    root = copy_fixture(voc_fixture, tmp_path)
    path = osp.join(root, 'bmp_pseudolabel/2007_000032.png')
    arr = np.array(Image.open(path))
    arr[0, :5] = 33
    Image.fromarray(arr).save(path)
    prefix = dict(
        img_path='JPEGImages',
        seg_map_path='pascal_2012_scribble',
        gt_pseudo_seg='bmp_pseudolabel')
    match = r'bmp_pseudolabel/2007_000032.png contains class ids \[33\] ' \
        r'outside 0..20'
    ds = voc(root, data_prefix=prefix)
    with pytest.raises(ValueError, match=match):
        ds[0]
    with pytest.raises(ValueError, match=match):
        voc(root, data_prefix=prefix, check_files='full')
    # The check is the transform's: check=False lets the map through.
    unchecked = voc(
        root,
        data_prefix=prefix,
        pipeline=[
            dict(type='LoadScribbleImageFromFile'),
            dict(type='LoadScribbleAnnotations', check=False),
            dict(type='PackScribbleInputs')
        ])
    assert unchecked[0]['data_samples'].gt_pseudo_seg.data.max() == 33
