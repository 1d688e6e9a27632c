"""mmscribble.datasets.split_builder: a config's split as a dataset, the
stems of split files or of a folder, images read as the pipeline does."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmscribble.datasets.split_builder import (build_split_dataset, list_stems,
                                               read_image, read_split_files,
                                               split_dataset_cfg)
from mmscribble.datasets.transforms.loading import LoadScribbleImageFromFile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-'
    '96x96.py')


def test_split_dataset_cfg_is_a_copy_of_the_split_s_dataset():
    cfg = Config.fromfile(DEMO)
    ds = split_dataset_cfg(cfg, 'val')
    assert ds.ann_file == 'splits/val.txt'
    assert ds.data_prefix == dict(
        img_path='img_dir/val', seg_map_path='ann_dir/full')
    ds.ann_file = 'changed.txt'
    assert cfg.val_dataloader.dataset.ann_file == 'splits/val.txt'
    assert split_dataset_cfg(cfg, 'train').ann_file == 'splits/train.txt'
    cfg.test_dataloader = None
    with pytest.raises(
            ValueError,
            match=r'--split test: the config has no test_dataloader with a '
            r'dataset \(splits it has: train, val\)'):
        split_dataset_cfg(cfg, 'test')


def test_build_split_dataset_sets_pipeline_and_prefixes(synthetic_root):
    cfg = Config.fromfile(DEMO)
    cfg.train_dataloader.dataset.data_root = synthetic_root
    pipeline = [dict(type='LoadScribbleImageFromFile')]
    ds = build_split_dataset(cfg, 'train', pipeline=pipeline)
    assert len(ds) == 16
    item = ds[0]
    assert item['img'].shape == (64, 64, 3)  # only the loader ran
    assert 'gt_seg_map' not in item
    # a map folder the tool is about to write does not exist yet: the
    # dataset's file check refuses it unless its prefix is dropped
    cfg.train_dataloader.dataset.data_prefix.gt_pseudo_seg = 'not_yet'
    with pytest.raises(FileNotFoundError, match='not_yet'):
        build_split_dataset(cfg, 'train')
    ds = build_split_dataset(
        cfg, 'train', drop_prefixes=('gt_pseudo_seg', 'absent'))
    assert len(ds) == 16
    assert sorted(ds.data_prefix) == ['img_path', 'seg_map_path']
    assert ds.get_data_info(0)['map_paths'] == {}
    # the config itself is untouched
    assert cfg.train_dataloader.dataset.data_prefix.gt_pseudo_seg == \
        'not_yet'


@pytest.fixture
def folder(tmp_path):
    for name in ('b.png', 'a.png', 'c.jpg', 'd.png.txt'):
        (tmp_path / name).write_bytes(b'')
    return tmp_path


def test_list_stems_of_a_folder(folder):
    assert list_stems(str(folder)) == ['a', 'b']
    assert list_stems(str(folder), suffix='.jpg') == ['c']
    with pytest.raises(ValueError, match=r"no image to process .*'\.bmp'"):
        list_stems(str(folder), suffix='.bmp')
    with pytest.raises(FileNotFoundError, match='folder not found: .*nope'):
        list_stems(str(folder / 'nope'))


def test_list_stems_of_split_files(folder):
    one, two = folder / 'one.txt', folder / 'two.txt'
    one.write_text('b\n\n  a \nb\n')
    two.write_text('z\na\n')
    # in order, stripped, blank lines and repeats dropped, across files
    assert read_split_files([str(one), str(two)]) == ['b', 'a', 'z']
    assert list_stems(str(folder), [str(one)]) == ['b', 'a']
    # a listed file is missing from the folder: only with check_files
    assert list_stems(str(folder), [str(two)]) == ['z', 'a']
    with pytest.raises(
            FileNotFoundError, match=r'1 images listed by .* e\.g\. z\.png'):
        list_stems(str(folder), [str(two)], check_files=True)
    with pytest.raises(FileNotFoundError, match='split file not found'):
        list_stems(str(folder), [str(folder / 'nope.txt')])
    empty = folder / 'empty.txt'
    empty.write_text('\n')
    with pytest.raises(ValueError, match='no image to process'):
        list_stems(str(folder), [str(empty)])


def test_read_image_as_the_pipeline_does(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (6, 5, 3), np.uint8)
    path = str(tmp_path / 'img.png')
    cv2.imwrite(path, img)
    got = read_image(path)
    np.testing.assert_array_equal(got, img)  # BGR
    loaded = LoadScribbleImageFromFile()(dict(img_path=path))['img']
    np.testing.assert_array_equal(got, loaded)
    gray = str(tmp_path / 'gray.png')
    cv2.imwrite(gray, img[..., 0])
    assert read_image(gray).shape == (6, 5, 3)  # colour, as the pipeline
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='cannot decode image'):
        read_image(str(bad))
