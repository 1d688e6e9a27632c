"""Every method's training losses under CPU autocast (float16, bfloat16).

What ``--amp`` does to a head on a GPU, emulated on the CPU: the head is
built from its VOC config's ``decode_head`` (tiny channels, BN instead of
SyncBN) and its ``loss`` runs under ``torch.autocast('cpu', dtype)``.
The pixel counts are what matters for the normalisers: a VOC batch holds
~94k scribbled pixels, above float16's largest value 65504, so the label
here is 2 x 256 x 256 = 131,072 pixels with 65,536 scribbled (every
other row) and as many unscribbled, both above 65504.

Checked against the same head in float32 on the same inputs: every loss
term finite, non-zero where it is non-zero in float32, within ``RTOL``
(float16 and bfloat16 keep 11 and 8 significant bits, and the logits
come from half convolutions: the terms agree to a few percent, the
counts being exact in float32), and every gradient finite.
"""
import copy

import pytest
import torch
from mmengine import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmscribble  # noqa: F401 (registers the heads)

N, S, K = 2, 256, 21  # batch, label side, VOC classes
RTOL = {torch.float16: 0.05, torch.bfloat16: 0.1}
C = 8  # tiny channels

CONFIGS = {
    'pce': 'baseline/pce_deeplabv2_r101-d8_4xb4-20k_voc12aug-scribble-'
    '512x512.py',
    'urss': 'urss/urss_deeplabv2_r101-d8_2xb8-66k_voc12aug-scribble-'
    '465x465.py',
    'blpseg': 'blpseg/blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-'
    '384x384.py',
    'cdsp': 'cdsp/cdsp_deeplabv2_r101-d8_1xb16-33k_voc12aug-scribble-'
    '465x465.py',
    'softsl': 'softsl/softsl_deeplabv3plus_r101-d8_1xb12-53k_voc12aug-'
    'scribble-512x512.py',
    'spml': 'spml/spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py',
}

# Tiny channels per method; the loss settings stay the config's. Feature
# strides are the configs' (4 for low-level inputs, 8 otherwise).
TINY = {
    'pce': dict(in_channels=C, channels=C),
    'urss': dict(in_channels=C, channels=C),
    'blpseg': dict(in_channels=[C] * 4, channels=C,
                   lam=dict(embed_dims=C, proj_channels=C)),
    'cdsp': dict(in_channels=C, channels=C, lorm_in_channels=C,
                 lorm_in_index=-1),
    'softsl': dict(in_channels=C, channels=C, c1_in_channels=C,
                   c1_channels=4, self_labeling=True,
                   solver=dict(steps=2, lr=0.075, optimizer='adam')),
    'spml': dict(in_channels=[C, C], channels=C, embed_dims=C,
                 low_level_channels=4),
}
STRIDES = {
    'pce': (8, ),
    'urss': (8, ),
    'blpseg': (4, 8, 16, 32),
    'cdsp': (8, ),
    'softsl': (4, 8),
    'spml': (4, 8),
}


def _merge(cfg: dict, tiny: dict) -> dict:
    for key, value in tiny.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            _merge(cfg[key], value)
        else:
            cfg[key] = value
    return cfg


def _head(method: str):
    cfg = Config.fromfile(f'configs/{CONFIGS[method]}').model.decode_head
    cfg = _merge(cfg.to_dict(), copy.deepcopy(TINY[method]))
    cfg['norm_cfg'] = dict(type='BN', requires_grad=True)
    if 'in_index' in cfg and isinstance(cfg['in_index'], (list, tuple)):
        cfg['in_index'] = list(range(len(cfg['in_index'])))
    else:
        cfg['in_index'] = -1 if len(STRIDES[method]) == 1 else 1
    cfg['dropout_ratio'] = 0
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _samples():
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(N):
        label = torch.full((1, S, S), 255, dtype=torch.uint8)
        # Every other row scribbled, in bands of 3 classes per image.
        label[0, ::2] = (torch.arange(S) * 3 // S + 3 * i).to(torch.uint8)
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=label)
        s.gt_valid_mask = PixelData(data=torch.ones(1, S, S, dtype=torch.uint8))
        s.gt_boundary_map = PixelData(
            data=(torch.rand(1, S, S, generator=g) < 0.1).to(torch.uint8))
        s.gt_pseudo_seg = PixelData(
            data=(torch.arange(S)[None, :, None].expand(1, S, S) * 3 // S +
                  3 * i).to(torch.uint8))
        s.gt_distance_map = PixelData(
            data=torch.rand(1, S, S, generator=g) * 255)
        s.gt_distance_pseudo = PixelData(
            data=torch.rand(1, S, S, generator=g) * 255)
        s.gt_superpixel = PixelData(
            data=(torch.arange(S * S).view(1, S, S) // (S * 32)).long())
        s.set_metainfo(
            dict(img_shape=(S, S), ori_shape=(S, S), pad_shape=(S, S),
                 img_tags=[3 * i, 3 * i + 1, 3 * i + 2]))
        out.append(s)
    return out


def _losses(method, head, feats, img, dtype):
    for f in feats:
        f.grad = None
    with torch.autocast('cpu', dtype=dtype, enabled=dtype is not None):
        losses = head.loss(feats, _samples(), {}, img=img)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    # SPML's VOC head (the authors') reads the last stage only: the
    # stride-4 input gets no gradient.
    grads = [f.grad.clone() for f in feats if f.grad is not None]
    assert grads
    return losses, grads


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('method', list(CONFIGS))
def test_losses_under_autocast_match_float32(method, dtype):
    torch.set_num_threads(1)
    head = _head(method)
    g = torch.Generator().manual_seed(1)
    feats = [
        torch.randn(N, C, S // s, S // s, generator=g).requires_grad_()
        for s in STRIDES[method]
    ]
    img = torch.randn(N, 3, S, S, generator=g)
    ref, _ = _losses(method, head, feats, img, None)
    got, grads = _losses(method, head, feats, img, dtype)
    assert set(got) == set(ref)
    for key, value in ref.items():
        if 'loss' not in key:
            continue
        half = got[key].float()
        assert torch.isfinite(half), (key, got[key])
        if value != 0:
            assert half != 0, key
        torch.testing.assert_close(
            half, value, rtol=RTOL[dtype], atol=1e-6,
            msg=f'{method} {key}: {half} under {dtype}, {value} float32')
    for grad in grads:
        assert torch.isfinite(grad).all()
