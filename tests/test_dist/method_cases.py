"""Tiny models of every method for the multi-process and device tests.

Each case is a backbone of four strided convolutions (strides 4, 8, 16,
32; channels 4, 8, 8, 8) and the method's head with small channels, on
32 x 32 images whose two samples have the same scribbled, valid and
pseudo-labeled pixel counts (only the classes differ), so that a mean over
one rank's pixels and a mean over the global batch weigh pixels alike.
"""
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

SIZE, K, PAD = 32, 3, 4
BN = dict(type='BN')
ONE_LEVEL = dict(in_channels=8, in_index=1, channels=8, num_classes=K,
                 dropout_ratio=0, norm_cfg=BN)

HEADS = {
    'pce': dict(type='DeepLabV2Head', dilations=(1, 2),
                loss_decode=dict(type='PartialCrossEntropyLoss'),
                **ONE_LEVEL),
    'urss': dict(type='URSSHead', dilations=(1, 2), view='flip',
                 loss_decode=dict(type='PartialCrossEntropyLoss'),
                 loss_eigen=dict(type='EigenspaceLoss', loss_weight=30.0),
                 **ONE_LEVEL),
    'blpseg': dict(type='BLPSegHead', in_channels=[4, 8, 8, 8],
                   in_index=[0, 1, 2, 3], channels=8, num_classes=K,
                   pool_scales=(1, 2), dropout_ratio=0, norm_cfg=BN,
                   lam=dict(sigma=2.0, embed_dims=6, proj_channels=6)),
    'cdsp': dict(type='CDSPHead', dilations=(1, 2), lorm_in_channels=8,
                 loss_decode=dict(type='PartialCrossEntropyLoss'),
                 **ONE_LEVEL),
    'softsl': dict(type='SoftSelfLabelingV2Head', dilations=(1, 2),
                   solver=dict(steps=3, lr=0.2, optimizer='adam'),
                   self_labeling=True, **ONE_LEVEL),
    'spml': dict(type='SPMLHead', in_channels=[4, 8], in_index=[0, 3],
                 channels=8, embed_dims=6, dilations=(1, 2),
                 low_level_channels=4, num_clusters=4, num_classes=K,
                 norm_cfg=BN, loss_decode=dict(type='PartialCrossEntropyLoss'),
                 memory_batches=2),
}
METHODS = tuple(HEADS)


class TinyBackbone(nn.Module):
    """Four levels at strides 4, 8, 16, 32 (channels 4, 8, 8, 8)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, 4, 1)
        self.stages = nn.ModuleList([
            nn.Conv2d(4, 8, 3, 2, 1),
            nn.Conv2d(8, 8, 3, 2, 1),
            nn.Conv2d(8, 8, 3, 2, 1)
        ])

    def forward(self, img):
        out = [torch.relu(self.stem(img))]
        for stage in self.stages:
            out.append(torch.relu(stage(out[-1])))
        return out


class Step(nn.Module):
    """Backbone + head; ``forward`` returns the summed training losses
    (what ``ScribbleEncoderDecoder.loss`` and mmengine's parse_losses
    do) and keeps the loss dict in ``self.last``."""

    def __init__(self, method):
        super().__init__()
        self.backbone = TinyBackbone()
        self.head = MODELS.build(HEADS[method])
        self.last = {}

    def forward(self, img, samples):
        losses = self.head.loss(
            self.backbone(img), samples, None, img=img,
            extract_feat=self.backbone)
        self.last = losses
        return sum(v for k, v in losses.items() if 'loss' in k)


def build(method, seed=0):
    """A :class:`Step` from ``seed``, BatchNorm in eval mode (so that the
    batch split does not change the normalisation, only the losses)."""
    torch.manual_seed(seed)
    model = Step(method)
    model.train()
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
    return model


def sample(i, scribble_len=18):
    """Sample ``i``: background and class ``1 + i % 2`` scribbles of
    ``scribble_len`` pixels each, a padded right margin, maps of every
    method; the counts do not depend on ``i``."""
    lab = torch.full((1, SIZE, SIZE), 255, dtype=torch.long)
    lab[0, 3, 2:2 + scribble_len] = 0
    lab[0, 20, 5:5 + scribble_len] = 1 + i % 2
    valid = torch.ones(1, SIZE, SIZE, dtype=torch.uint8)
    valid[..., SIZE - PAD:] = 0
    bmap = torch.zeros(1, SIZE, SIZE, dtype=torch.uint8)
    bmap[..., ::4, :] = 1
    bmap[..., SIZE - PAD:] = 255
    pseudo = torch.zeros(1, SIZE, SIZE, dtype=torch.uint8)
    pseudo[0, 12:24, 4:20] = 1 + i % 2
    pseudo[..., SIZE - PAD:] = 255
    sp = torch.zeros(1, SIZE, SIZE, dtype=torch.int32)
    sp[0, SIZE // 2:] = 1
    g = torch.Generator().manual_seed(100 + i)
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=lab)
    s.gt_valid_mask = PixelData(data=valid)
    s.gt_boundary_map = PixelData(data=bmap)
    s.gt_pseudo_seg = PixelData(data=pseudo)
    s.gt_distance_map = PixelData(
        data=torch.rand(1, SIZE, SIZE, generator=g) * 255)
    s.gt_distance_pseudo = PixelData(
        data=torch.rand(1, SIZE, SIZE, generator=g) * 255)
    s.gt_superpixel = PixelData(data=sp)
    s.set_metainfo(
        dict(
            img_shape=(SIZE, SIZE - PAD),
            pad_shape=(SIZE, SIZE),
            ori_shape=(SIZE, SIZE - PAD),
            img_tags=[0, 1 + i % 2]))
    return s


def batch(indices, scribble_len=18):
    """Images and samples of the given sample indices; ``scribble_len``
    is one length or one per sample."""
    if isinstance(scribble_len, int):
        scribble_len = [scribble_len] * len(indices)
    imgs = []
    for i in indices:
        g = torch.Generator().manual_seed(i)
        imgs.append(torch.randn(3, SIZE, SIZE, generator=g))
    return torch.stack(imgs), [
        sample(i, n) for i, n in zip(indices, scribble_len)
    ]
