"""From disk to the head's loss: an extra map stays aligned with the image
through flip + crop + pad, and padding gets each map's own fill value."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from mmseg.registry import MODELS

from mmscribble.datasets import VOCScribbleDataset
from mmscribble.models import ScribbleDataPreProcessor
from mmscribble.models.heads import BaseScribbleHead


def boundary_of(img_bgr):
    """A deterministic per-pixel function of the image, written as a map."""
    return (img_bgr[..., 1] > 128).astype(np.uint8)


class _ProbeHead(BaseScribbleHead):
    """Records what a scribble head receives."""

    def forward(self, inputs):
        return self.conv_seg(inputs[-1])

    def loss(self, inputs, batch_data_samples, train_cfg, img=None,
             extract_feat=None):
        self.seen = dict(img=img, samples=batch_data_samples)
        return dict(loss_probe=inputs[-1].sum() * 0)


@pytest.fixture
def probe_head():
    """``_ProbeHead`` in mmseg's MODELS for one test only: importing a test
    module must not change the registry other tests build from."""
    MODELS.register_module(module=_ProbeHead)
    yield _ProbeHead
    MODELS.module_dict.pop(_ProbeHead.__name__)


def test_probe_head_registered_only_inside_its_test():
    assert '_ProbeHead' not in MODELS.module_dict


def test_map_aligned_after_flip_crop_pad(voc_fixture, tmp_path, probe_head):
    root = str(tmp_path)
    img_path = osp.join(voc_fixture, 'JPEGImages/2007_000032.jpg')
    img = cv2.imread(img_path)
    cv2.imwrite(osp.join(root, 'b.png'), boundary_of(img))
    import shutil
    shutil.copytree(voc_fixture, osp.join(root, 'voc'))
    import os
    os.makedirs(osp.join(root, 'voc/slic'))
    shutil.copy(
        osp.join(root, 'b.png'), osp.join(root, 'voc/slic/2007_000032.png'))
    pipeline = [
        dict(type='LoadScribbleImageFromFile'),
        dict(type='LoadScribbleAnnotations'),
        dict(type='ScribbleRandomFlip', prob=1.0),
        dict(type='ScribbleRandomCrop', crop_size=(200, 320)),
        dict(type='PackScribbleInputs'),
    ]
    ds = VOCScribbleDataset(
        data_root=osp.join(root, 'voc'),
        ann_file='ImageSets/SegmentationAug/train.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='pascal_2012_scribble',
            gt_boundary_map='slic'),
        pipeline=pipeline)
    np.random.seed(0)
    batch = pseudo_collate([ds[0], ds[0]])
    pre = ScribbleDataPreProcessor(
        mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=False, size=(256, 384))
    data = pre(batch, training=True)
    from mmseg.models.segmentors import EncoderDecoder  # noqa: F401
    from mmscribble.models.segmentors import ScribbleEncoderDecoder
    model = ScribbleEncoderDecoder(
        backbone=dict(
            type='ResNetV1c', depth=18, num_stages=4, out_indices=(3, ),
            norm_cfg=dict(type='BN')),
        decode_head=dict(
            type='_ProbeHead', in_channels=512, channels=512, num_classes=21))
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'decode.loss_probe'}
    seen = model.decode_head.seen
    x = seen['img']
    assert x is data['inputs'] and tuple(x.shape) == (2, 3, 256, 384)
    for b, s in enumerate(seen['samples']):
        bmap = s.gt_boundary_map.data[0].numpy()
        valid = s.gt_valid_mask.data[0].numpy()
        seg = s.gt_sem_seg.data[0].numpy()
        assert bmap.shape == (256, 384) == valid.shape == seg.shape
        assert tuple(s.metainfo['img_shape']) == (200, 320)  # before pad
        assert tuple(s.metainfo['pad_shape']) == (256, 384)
        # crop is 200x320, the rest is padding
        assert valid[:200, :320].all() and not valid[200:].any() \
            and not valid[:, 320:].any()
        assert (bmap[200:] == 255).all() and (bmap[:, 320:] == 255).all()
        assert (seg[200:] == 255).all()
        # inside: the map equals the function of the (flipped, cropped) image
        img_in = x[b].numpy().transpose(1, 2, 0)[:200, :320]
        expect = boundary_of(img_in.round().astype(np.uint8))
        np.testing.assert_array_equal(bmap[:200, :320], expect)
        assert (img_in[:, :, :] == 0).sum() < img_in.size  # real pixels
        assert s.metainfo['flip'] is True
        # the padded image region is pad_val
        assert float(x[b, :, 200:].abs().max()) == 0.0


def test_plain_mmseg_head_unchanged(voc_fixture):
    from mmscribble.models.segmentors import ScribbleEncoderDecoder
    model = ScribbleEncoderDecoder(
        data_preprocessor=dict(
            type='ScribbleDataPreProcessor', size=(64, 64)),
        backbone=dict(
            type='ResNetV1c', depth=18, num_stages=4, out_indices=(3, ),
            norm_cfg=dict(type='BN')),
        decode_head=dict(
            type='FCNHead', in_channels=512, channels=16, num_convs=1,
            num_classes=21,
            loss_decode=dict(type='PartialCrossEntropyLoss')),
        test_cfg=ConfigDict(mode='whole'))
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    s = SegDataSample()
    lab = torch.full((1, 64, 64), 255, dtype=torch.long)
    lab[0, 10:20, 10:20] = 3
    s.gt_sem_seg = PixelData(data=lab)
    s.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64),
                        pad_shape=(64, 64)))
    data = model.data_preprocessor(
        dict(inputs=[torch.rand(3, 64, 64) * 255], data_samples=[s]), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'decode.loss_pce', 'decode.acc_seg'}
    assert torch.isfinite(losses['decode.loss_pce'])
    out = model.predict(data['inputs'], data['data_samples'])
    assert tuple(out[0].pred_sem_seg.shape) == (64, 64)
