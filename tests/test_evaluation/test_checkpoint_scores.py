"""mmscribble.evaluation.checkpoint_scores: the shared pieces of the
scoring tools, on hand-made predictions."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmscribble.evaluation.checkpoint_scores import (check_background,
                                                     checked_config,
                                                     class_names, label_of,
                                                     pooled_confusion,
                                                     split_report, write_json)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-'
    '96x96.py')


class Items:
    """A dataset of ``(prediction, ground truth)`` pairs."""

    def __init__(self, pairs, classes=('bg', 'a', 'b')):
        self.pairs = pairs
        self.metainfo = dict(classes=classes)

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        pred, gt = self.pairs[i]  # arrays: pseudo_collate keeps them whole
        return dict(
            pred=np.array(pred), gt=None if gt is None else np.array(gt))

    def get_data_info(self, i):
        return dict(img_path=f'img{i}.png')


class Replay:
    """A 'model' whose test_step returns the item's own prediction."""

    def test_step(self, batch):
        sample = SegDataSample()
        sample.pred_sem_seg = PixelData(
            data=torch.as_tensor(batch['pred'][0])[None])
        if batch['gt'][0] is not None:
            sample.gt_sem_seg = PixelData(
                data=torch.as_tensor(batch['gt'][0])[None])
        return [sample]


def test_pooled_confusion_over_the_indices():
    data = Items([
        ([[0, 1], [2, 2]], [[0, 1], [1, 255]]),
        ([[1, 1], [0, 0]], [[1, 1], [1, 0]]),
        ([[2, 2], [2, 2]], [[0, 0], [0, 0]]),  # not scored: index left out
    ])
    conf = pooled_confusion(Replay(), data, [0, 1], 3)
    # rows ground truth, columns prediction (last: no prediction)
    np.testing.assert_array_equal(conf,
                                  [[2, 0, 0, 0], [1, 3, 1, 0], [0, 0, 0, 0]])
    conf = pooled_confusion(Replay(), data, range(3), 3)
    assert conf[0].tolist() == [2, 0, 4, 0]
    assert conf.dtype == np.int64
    with pytest.raises(ValueError, match='img1.png: the test pipeline'):
        pooled_confusion(Replay(), Items([([[0]], [[0]]), ([[0]], None)]),
                         range(2), 3)


def test_split_report_and_class_names():
    data = Items([None] * 5)
    rep = split_report('cfg.py', data, range(2), 3, 0, {'run': {'x': 1}})
    assert rep == dict(
        config='cfg.py',
        images=2,
        classes=['bg', 'a', 'b'],
        background=0,
        runs={'run': {
            'x': 1
        }})
    assert class_names(data, 2) == ['bg', 'a']
    # fewer names than classes: the ids
    assert class_names(data, 4) == ['0', '1', '2', '3']
    assert class_names(Items([], classes=None), 2) == ['0', '1']


def test_label_of_and_repeats(tmp_path):
    ckpt = tmp_path / 'run' / 'seed0' / 'iter_60.pth'
    assert label_of(str(ckpt)) == 'run/seed0/iter_60.pth'
    taken = {'run/seed0/iter_60.pth': None, 'other': None}
    assert label_of(str(ckpt), taken) == 'run/seed0/iter_60.pth (3)'


def test_checks_and_json(tmp_path):
    check_background(0, 2)
    check_background(1, 2)
    for bad in (-1, 2):
        with pytest.raises(
                ValueError,
                match=f'--background {bad} is not a '
                r'class id of the model \(0 .. 1\)'):
            check_background(bad, 2)
    with pytest.raises(ValueError, match='--limit must be >= 1, got 0'):
        checked_config(DEMO, [], limit=0)
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        checked_config(DEMO, [str(tmp_path / 'no.pth')])
    cfg = checked_config(
        DEMO, [], cfg_options={'test_dataloader.batch_size': 3})
    assert cfg.test_dataloader.batch_size == 3
    path = tmp_path / 'out.json'
    write_json(str(path), dict(a=[1.5, 2]))
    assert json.loads(path.read_text()) == dict(a=[1.5, 2])
    write_json(None, dict(a=1))  # no path: nothing written
