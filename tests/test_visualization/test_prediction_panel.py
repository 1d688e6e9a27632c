"""The demo's panels: image | ground truth | prediction, and the legend of
the classes in either map to their right."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmscribble.visualization import legend_panel
from mmscribble.visualization.legend import ROW, SWATCH
from mmscribble.visualization.prediction_panel import (prediction_panel,
                                                       write_prediction_panels)

CLASSES = ('background', 'disc', 'box', 'triangle')
PALETTE = [[0, 0, 0], [220, 20, 60], [0, 128, 255], [255, 200, 0]]


def maps():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    gt = np.array([[0, 0, 2, 2, 255]] * 4, np.uint8)  # 255: unlabeled
    pred = np.array([[1, 0, 2, 2, 2]] * 4, np.uint8)  # no triangle
    return img, gt, pred


def test_panel_is_three_enlarged_pictures_and_a_legend():
    img, gt, pred = maps()
    panel = prediction_panel(img, gt, pred, CLASSES, PALETTE, scale=3)
    legend = legend_panel(CLASSES, PALETTE, [0, 1, 2], height=12)
    # 3 pictures of 5 px + 2 gaps of 2 px, times 3; a 2 px gap; the legend
    assert legend.shape[0] == 3 * ROW + 4 == 52
    assert panel.shape == (52, 3 * 19 + 2 + legend.shape[1], 3)
    assert (panel[:, 59:] == legend).all()
    assert (panel[:12, 57:59] == 255).all()
    big = np.repeat(np.repeat(img, 3, 0), 3, 1)
    assert (panel[:12, :15] == big).all()
    gt_part = panel[:12, 21:36].astype(int)
    # the unlabeled column is the image; a box pixel is half box colour
    assert (gt_part[:, 12:] == big[:, 12:]).all()
    box = (img[0, 2].astype(float) * 0.5 + np.array(PALETTE[2]) * 0.5)
    assert (gt_part[0, 6] == box.astype(np.uint8)).all()
    pred_part = panel[:12, 42:57].astype(int)
    disc = (img[0, 0].astype(float) * 0.5 + np.array(PALETTE[1]) * 0.5)
    assert (pred_part[0, 0] == disc.astype(np.uint8)).all()
    # below the pictures: black padding, not the picture
    assert (panel[12:, :57] == 0).all()
    # legend rows top down: background, disc, box (swatch colours)
    for row, cid in enumerate([0, 1, 2]):
        y = row * ROW + 2
        assert (panel[y:y + SWATCH, 61:61 + SWATCH] == PALETTE[cid]).all()


def test_panel_refuses_unequal_sizes():
    img, gt, pred = maps()
    with pytest.raises(ValueError, match=r'prediction \(4, 4\)'):
        prediction_panel(img, gt, pred[:, :4], CLASSES, PALETTE)


class Dataset:
    metainfo = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


class Model:
    """test_step gives the ground truth and a fixed prediction back."""

    def __init__(self, pred):
        self.pred = pred

    def test_step(self, batch):
        out = []
        for sample in batch['data_samples']:
            sample = sample.clone()
            sample.pred_sem_seg = PixelData(
                data=torch.from_numpy(self.pred)[None])
            out.append(sample)
        return out


def test_written_panel_has_the_legend_on_its_right(tmp_path):
    img, gt, pred = maps()
    # the loader's image is BGR (3, H, W), as LoadImageFromFile reads it
    inputs = torch.from_numpy(img[..., ::-1].transpose(2, 0, 1).copy())
    samples = []
    for i in range(3):
        sample = SegDataSample(metainfo=dict(img_path=f'/data/val_{i}.png'))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
        samples.append(dict(inputs=inputs, data_samples=sample))
    dataset = Dataset(samples)

    def collate(items):
        return dict(
            inputs=[i['inputs'] for i in items],
            data_samples=[i['data_samples'] for i in items])

    loader = SimpleNamespace(dataset=dataset, collate_fn=collate)
    written = write_prediction_panels(
        Model(pred), loader, str(tmp_path / 'overlays'), num=2)
    assert written == [
        str(tmp_path / 'overlays' / f'val_{i}.png') for i in range(2)
    ]
    saved = cv2.imread(written[0])[..., ::-1]
    assert (saved == prediction_panel(img, gt, pred, CLASSES, PALETTE)).all()
    legend = legend_panel(CLASSES, PALETTE, [0, 1, 2], height=12)
    assert (saved[:, -legend.shape[1]:] == legend).all()
