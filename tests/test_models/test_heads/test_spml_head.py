"""SPMLHead: embedding, detached classifier, the Eq. 4 losses, memory."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmscribble  # noqa: F401


def _head(**kw):
    cfg = dict(
        type='SPMLHead',
        in_channels=[4, 8],
        in_index=[0, 1],
        channels=8,
        embed_dims=6,
        dilations=(1, 2),
        low_level_channels=4,
        num_clusters=4,
        num_classes=3,
        norm_cfg=dict(type='BN'),
        loss_decode=dict(type='PartialCrossEntropyLoss'),
        loss_affinity=dict(
            type='SegSortLoss',
            kappa=12.0,
            loss_weight=0.5,
            loss_name='loss_spml_aff'))
    cfg.update(kw)
    return MODELS.build(cfg)


def _samples(n=2, size=16, scribbles=True):
    out = []
    for i in range(n):
        s = SegDataSample()
        lab = torch.full((1, size, size), 255, dtype=torch.long)
        if scribbles:
            lab[0, 0:4, 0:12] = 0
            lab[0, 8:12, 4:16] = i + 1
        s.gt_sem_seg = PixelData(data=lab)
        valid = torch.ones(1, size, size, dtype=torch.uint8)
        valid[0, :, 12:] = 0 if i == 1 else 1
        s.gt_valid_mask = PixelData(data=valid)
        sp = torch.zeros(1, size, size, dtype=torch.int32)
        sp[0, size // 2:] = 1
        s.gt_superpixel = PixelData(data=sp)
        s.set_metainfo(
            dict(
                img_shape=(size, size),
                pad_shape=(size, size),
                img_tags=[0, i + 1] if scribbles else []))
        out.append(s)
    return out


def _inputs(n=2):
    torch.manual_seed(0)
    return (torch.randn(n, 4, 4, 4), torch.randn(n, 8, 2, 2))


def test_losses_memory_and_detached_classifier():
    head = _head()
    head.train()
    x = _inputs()
    emb, logits = head.forward_embedding(x)
    assert emb.shape == (2, 6, 4, 4) and logits.shape == (2, 3, 4, 4)
    assert torch.allclose(emb.norm(dim=1), torch.ones(2, 4, 4))
    losses = head.loss(x, _samples(), None)
    for name in ('loss_pce', 'loss_spml_sem', 'loss_spml_img', 'loss_spml_occ',
                 'loss_spml_aff'):
        assert torch.isfinite(losses[name]), name
    assert len(head.memory) == 1
    losses = head.loss(x, _samples(), None)
    assert len(head.memory) == 2
    head.loss(x, _samples(), None)
    assert len(head.memory) == 2  # the previous 2 batches only
    # The classifier loss does not reach the embedding.
    head.zero_grad()
    losses['loss_pce'].backward(retain_graph=True)
    assert head.embed.weight.grad is None or \
        not head.embed.weight.grad.any()
    assert head.conv_seg.weight.grad.abs().sum() > 0
    head.zero_grad()
    losses['loss_spml_sem'].backward()
    assert head.embed.weight.grad.abs().sum() > 0
    assert head.conv_seg.weight.grad is None or \
        not head.conv_seg.weight.grad.any()


def test_no_scribble_batch_is_finite():
    head = _head(memory_batches=0)
    losses = head.loss(_inputs(), _samples(scribbles=False), None)
    assert all(torch.isfinite(v) for v in losses.values())
    assert float(losses['loss_spml_sem']) == 0.0
    sum(v for k, v in losses.items() if 'loss' in k).backward()


def test_zero_weight_relation_not_computed_and_checks():
    head = _head(
        loss_image=None,
        loss_cooccurrence=dict(
            type='SegSortLoss', loss_weight=0.0, loss_name='loss_spml_occ'))
    samples = _samples()
    for s in samples:
        del s.gt_superpixel  # not needed without loss_image
    losses = head.loss(_inputs(), samples, None)
    assert 'loss_spml_img' not in losses and 'loss_spml_occ' not in losses
    with pytest.raises(KeyError, match='gt_superpixel'):
        _head().loss(_inputs(), samples, None)
    with pytest.raises(ValueError, match='multiple_select'):
        _head(in_channels=8, in_index=1, input_transform=None)
    with pytest.raises(ValueError, match='already used'):
        _head(loss_image=dict(type='SegSortLoss', loss_name='loss_spml_sem'))


def test_single_pixel_labels_survive_the_stride():
    head = _head()
    label = torch.full((1, 16, 16), 255, dtype=torch.long)
    label[0, 5, 6] = 2  # not a cell centre (multiples of 4)
    label[0, 0, 1] = 1
    cells = head._labels_at_cells(label, (4, 4))
    assert cells.shape == (1, 4, 4)
    # Cell j's block is pixels 4j - 2 .. 4j + 1: row 5 is in block 1
    # (2..5), column 6 in block 2 (6..9).
    expect = torch.full((1, 4, 4), 255)
    expect[0, 1, 2] = 2
    expect[0, 0, 0] = 1
    assert torch.equal(cells, expect)


def test_grouped_and_masked_forms_give_the_same_losses():
    torch.manual_seed(1)
    grouped = _head()
    masked = _head(loss_form='masked')
    masked.load_state_dict(grouped.state_dict())
    x = _inputs()
    for _ in range(3):  # with a filling memory bank
        emb, _ = grouped.forward_embedding(x)
        a = grouped.embedding_losses(emb, _samples())
        b = masked.embedding_losses(emb, _samples())
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6), k
    with pytest.raises(ValueError, match='loss_form'):
        _head(loss_form='dense')
