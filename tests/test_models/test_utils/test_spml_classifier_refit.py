"""SPML's classifier fitted on the fixed embedding: the fit is the
minimizer of its objective, the collected features reproduce the model's
own upsampled logits, and only the classifier changes."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmscribble  # noqa: F401
from mmscribble.engine.hooks import SPMLClassifierRefitHook
from mmscribble.models.utils.spml_classifier_refit import (
    classifier_loss, fit_linear_classifier, labeled_embeddings,
    refit_spml_classifier)


def _blobs(n_per_class=40, seed=0):
    """Three overlapping Gaussian classes in 5-d (not separable)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[2., 0, 0, 0, 0], [0, 2., 0, 0, 0],
                            [0, 0, 2., 0, 0]])
    feat = torch.cat(
        [c + torch.randn(n_per_class, 5, generator=g) for c in centres])
    label = torch.arange(3).repeat_interleave(n_per_class)
    return feat, label


def test_fit_is_the_minimizer():
    feat, label = _blobs()
    w, b = fit_linear_classifier(
        feat, label, torch.zeros(3, 5), torch.zeros(3), weight_decay=1e-2)
    # Stationary point of a strictly convex objective = its minimizer.
    wg, bg = w.clone().requires_grad_(), b.clone().requires_grad_()
    classifier_loss(feat, label, wg, bg, 1e-2).backward()
    assert wg.grad.abs().max() < 1e-4 and bg.grad.abs().max() < 1e-4
    # Any start gives the same fit.
    w2, b2 = fit_linear_classifier(
        feat, label, torch.randn(3, 5), torch.randn(3), weight_decay=1e-2)
    torch.testing.assert_close(w2, w, atol=1e-3, rtol=0)
    # The bias is not decayed, so it is fixed up to a shift common to
    # every class, which the softmax ignores: compare probabilities.
    torch.testing.assert_close(
        F.softmax(feat @ w2.t() + b2, 1),
        F.softmax(feat @ w.t() + b, 1),
        atol=1e-3,
        rtol=0)
    acc = ((feat @ w.t() + b).argmax(1) == label).float().mean()
    assert acc >= 0.8  # three unit-variance blobs 2.8 apart


def test_fit_without_pixels_keeps_the_start_and_rejects_bad_input():
    w0, b0 = torch.randn(3, 5), torch.randn(3)
    w, b = fit_linear_classifier(
        torch.zeros(0, 5), torch.zeros(0, dtype=torch.long), w0, b0)
    torch.testing.assert_close(w, w0)
    torch.testing.assert_close(b, b0)
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\)'):
        fit_linear_classifier(torch.zeros(2, 5), torch.tensor([0, 3]), w0, b0)
    with pytest.raises(ValueError, match='feat must be'):
        fit_linear_classifier(torch.zeros(2, 5), torch.tensor([0]), w0, b0)
    with pytest.raises(ValueError, match='weight_decay'):
        fit_linear_classifier(
            torch.zeros(2, 5), torch.tensor([0, 1]), w0, b0, weight_decay=-1)


class TinySegmentor(nn.Module):
    """What the refit reads of a segmentor: a data preprocessor padding to
    a multiple of 8, two feature maps (strides 2 and 4) and an SPMLHead."""

    def __init__(self):
        super().__init__()
        self.data_preprocessor = SegDataPreProcessor(
            mean=[0.], std=[1.], size_divisor=8, pad_val=0, seg_pad_val=255)
        self.low = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.high = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.decode_head = MODELS.build(
            dict(
                type='SPMLHead',
                in_channels=[4, 8],
                in_index=[0, 1],
                channels=8,
                embed_dims=6,
                dilations=(1, 2),
                low_level_channels=4,
                num_clusters=2,
                num_classes=3,
                norm_cfg=dict(type='BN'),
                loss_decode=dict(type='PartialCrossEntropyLoss')))

    def extract_feat(self, x):
        low = self.low(x)
        return low, self.high(low)


def _item(h, w, seed):
    g = torch.Generator().manual_seed(seed)
    lab = torch.full((1, h, w), 255, dtype=torch.long)
    lab[0, 1:3, 1:w - 1] = 0
    lab[0, h // 2, 2:w - 2] = 1 + seed % 2
    lab[0, h - 2, 0:4] = 2
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=lab)
    s.set_metainfo(dict(ori_shape=(h, w), img_shape=(h, w)))
    img = (torch.rand(1, h, w, generator=g) * 255).to(torch.uint8)
    return dict(inputs=img, data_samples=s)


def test_features_reproduce_the_models_logits():
    torch.manual_seed(0)
    model = TinySegmentor().eval()
    item = _item(13, 15, 0)  # padded to 16 x 16 by the preprocessor
    feat, label = labeled_embeddings(model, item, 3)
    lab = item['data_samples'].gt_sem_seg.data[0]
    assert label.tolist() == lab[lab < 3].tolist()
    # The model's prediction path: classifier logits at the cells,
    # upsampled to the padded input, the image cropped out of it.
    from mmengine.dataset import pseudo_collate
    data = model.data_preprocessor(pseudo_collate([item]), False)
    with torch.no_grad():
        logits = model.decode_head(model.extract_feat(data['inputs']))
        logits = F.interpolate(
            logits,
            size=data['inputs'].shape[-2:],
            mode='bilinear',
            align_corners=False)[0, :, :13, :15]
    conv = model.decode_head.conv_seg
    torch.testing.assert_close(
        feat @ conv.weight[:, :, 0, 0].detach().t() + conv.bias.detach(),
        logits[:, lab < 3].t(),
        atol=1e-5,
        rtol=1e-5)
    # A draw of at most 5 pixels keeps 5 of them, in pixel order.
    sub, sub_label = labeled_embeddings(
        model, item, 3, max_pixels=5, generator=torch.Generator())
    assert sub.shape == (5, 6)
    rows = [int((feat - s).abs().sum(1).argmin()) for s in sub]
    assert rows == sorted(rows) and sub_label.tolist() == [
        label[r].item() for r in rows
    ]


def test_refit_changes_only_the_classifier():
    torch.manual_seed(0)
    model = TinySegmentor().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    items = [_item(16, 16, s) for s in range(4)]
    stats = refit_spml_classifier(model, items, weight_decay=1e-3)
    assert model.training  # put back in the mode it was in
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {
        'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'
    }
    assert stats['pixels'] == sum(
        int((i['data_samples'].gt_sem_seg.data < 3).sum()) for i in items)
    assert stats['loss_after'] < stats['loss_before']
    assert stats['acc_after'] >= stats['acc_before']
    # An image without scribbles adds nothing and breaks nothing.
    empty = _item(16, 16, 0)
    empty['data_samples'].gt_sem_seg.data[:] = 255
    only_empty = refit_spml_classifier(model, [empty])
    assert only_empty['pixels'] == 0
    torch.testing.assert_close(model.state_dict()['decode_head.conv_seg.bias'],
                               after['decode_head.conv_seg.bias'])


def test_refit_rejects_a_head_without_an_embedding():
    model = SimpleNamespace(decode_head=nn.Conv2d(1, 1, 1))
    with pytest.raises(TypeError, match='SPMLHead'):
        refit_spml_classifier(model, [])


def test_hook_fits_at_the_last_iteration_only(monkeypatch):
    torch.manual_seed(0)
    model = TinySegmentor().train()
    items = [_item(16, 16, s) for s in range(3)]
    hook = SPMLClassifierRefitHook(weight_decay=1e-3)
    monkeypatch.setattr(hook, 'build_dataset', lambda runner: items)
    logged = []
    runner = SimpleNamespace(
        model=model,
        iter=3,
        max_iters=5,
        logger=SimpleNamespace(info=logged.append, warning=None))
    w0 = model.decode_head.conv_seg.weight.clone()
    hook.after_train_iter(runner, 0)
    assert torch.equal(model.decode_head.conv_seg.weight, w0) and not logged
    runner.iter = 4
    hook.after_train_iter(runner, 0)
    assert not torch.equal(model.decode_head.conv_seg.weight, w0)
    assert 'labeled pixels of 3 training images' in logged[0]
    # Training images without any scribble: the classifier is kept, and
    # the log says so.
    empty = _item(16, 16, 0)
    empty['data_samples'].gt_sem_seg.data[:] = 255
    monkeypatch.setattr(hook, 'build_dataset', lambda runner: [empty])
    warned = []
    runner.logger.warning = warned.append
    w1 = model.decode_head.conv_seg.weight.clone()
    hook.after_train_iter(runner, 0)
    assert torch.equal(model.decode_head.conv_seg.weight, w1)
    assert 'no labeled pixel' in warned[0]
    # It runs before CheckpointHook (VERY_LOW), which saves the fit.
    assert hook.priority == 'NORMAL'
    with pytest.raises(ValueError, match='pixels_per_image'):
        SPMLClassifierRefitHook(pixels_per_image=0)
