"""SPMLHead: embedding, detached classifier, the Eq. 4 losses, memory."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmscribble  # noqa: F401
from mmscribble.models.heads.spml_head import KMeansCfg


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


def _tagged(*tags):
    out = []
    for t in tags:
        s = SegDataSample()
        s.set_metainfo(dict(img_tags=list(t)))
        out.append(s)
    return out


def test_cooccurrence_context_is_object_classes_by_hand():
    from mmscribble.models.utils.spml_segments import (spml_relation_groups,
                                                       spml_relations)

    # Classes 0 (background), 1, 2, 3; unlabeled = 4. Images A {0, 1},
    # B {0, 2} (shares only the background with A), C {0, 1, 3} (shares
    # 1 with A); a memory segment from an image tagged {0, 2}. Pixels a0,
    # a1 (A), b (B), c (C); segments 0, 1 of A, 2 of B, 3 of C, 4 memory.
    pix_seg = torch.tensor([0, 1, 2, 3])
    pix_img = torch.tensor([0, 0, 1, 2])
    pix_lab = torch.tensor([1, 4, 0, 3])
    seg_img = torch.tensor([0, 0, 1, 2, -1])
    seg_lab = torch.tensor([1, 4, 0, 3, 2])
    batch = _tagged([0, 1], [0, 2], [0, 1, 3])
    memory = _tagged([0, 2])

    def both_forms(tags, seg_tags):
        rel_args = (pix_seg, pix_img, pix_lab,
                    torch.zeros_like(pix_seg), seg_img, seg_lab,
                    torch.zeros_like(seg_img), seg_tags, tags, 4)
        pos, neg, w = spml_relations(
            *rel_args, relations=('cooccurrence', ))['cooccurrence']
        assert torch.equal(neg, ~pos) and w.tolist() == [1] * len(pos)
        group, pos_g, cand_g, _ = spml_relation_groups(
            *rel_args, relations=('cooccurrence', ))['cooccurrence']
        assert torch.equal(pos_g[:, group], pos) and cand_g.all()
        return pos.int().tolist()

    objects_only = [[1, 1, 0, 1, 0], [1, 1, 0, 1, 0], [0, 0, 1, 0, 1],
                    [1, 1, 0, 1, 0]]
    for ignore, expect in (((0, ), objects_only), ((), [[1] * 5] * 4)):
        head = _head(num_classes=4, context_ignore_classes=ignore)
        tags = head.context_tags(batch)
        assert tags[:, 0].tolist() == [ignore == ()] * 3
        # The memory bank stores each segment's context tags.
        seg_tags = torch.cat([tags[seg_img[:4]], head.context_tags(memory)])
        assert both_forms(tags, seg_tags) == expect, ignore
    # Replace C by D with background scribbles only: no context, its own
    # segment is its only positive, and it is a negative to every other.
    head = _head(num_classes=4)
    tags = head.context_tags(_tagged([0, 1], [0, 2], [0]))
    assert tags[2].sum() == 0
    seg_tags = torch.cat([tags[seg_img[:4]], head.context_tags(memory)])
    assert both_forms(tags, seg_tags) == [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0],
                                          [0, 0, 1, 0, 1], [0, 0, 0, 1, 0]]


def test_cooccurrence_loss_not_zero_with_background_everywhere():
    # _samples: every image has a background scribble, tags {0, 1} and
    # {0, 2}: they share the background only.
    for form in ('grouped', 'masked'):
        torch.manual_seed(2)
        with_bg = _head(context_ignore_classes=(), loss_form=form)
        objects = _head(loss_form=form)
        objects.load_state_dict(with_bg.state_dict())
        emb, _ = with_bg.forward_embedding(_inputs())
        old = with_bg.embedding_losses(emb, _samples())['loss_spml_occ']
        new = objects.embedding_losses(emb, _samples())['loss_spml_occ']
        assert float(old) == pytest.approx(0.0, abs=1e-6), form
        assert float(new) > 0.05, form
        # The memory bank keeps the context tags, background dropped.
        assert not objects.memory[-1][2][:, 0].any()
        assert with_bg.memory[-1][2][:, 0].all()


def test_background_only_images_give_a_finite_cooccurrence_loss():
    head = _head()
    x = _inputs()
    for _ in range(3):  # with a filling memory bank of no-context tags
        samples = _samples()
        for s in samples:
            s.gt_sem_seg.data[s.gt_sem_seg.data > 0] = 255
            s.set_metainfo(dict(img_tags=[0]))
        losses = head.loss(x, samples, None)
        occ = losses['loss_spml_occ']
        assert torch.isfinite(occ) and float(occ) > 0
    head.zero_grad()
    occ.backward()
    assert torch.isfinite(head.embed.weight.grad).all()
    assert head.embed.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('bad', [0, (3, ), (-1, ), ('0', ), (True, ), (0.0, )])
def test_context_ignore_classes_checked(bad):
    with pytest.raises(ValueError, match='context_ignore_classes'):
        _head(context_ignore_classes=bad)


# ---------------------------------------------------------------------------
# The grouped k-means options
# ---------------------------------------------------------------------------
def test_kmeans_cfg_groups_and_converts_the_options():
    head = _head(num_clusters=5.0, kmeans_iterations='3', coord_weight=2)
    assert head.kmeans_cfg == KMeansCfg(
        num_clusters=5, iterations=3, coord_weight=2.0)
    assert (head.num_clusters, head.kmeans_iterations) == (5, 3)
    assert type(head.num_clusters) is int
    assert type(head.coord_weight) is float
    assert KMeansCfg() == KMeansCfg(36, 10, 1.0)


def test_kmeans_cfg_is_frozen_and_setting_an_option_rechecks():
    head = _head()
    with pytest.raises(AttributeError):
        head.kmeans_cfg.num_clusters = 2
    head.num_clusters = 6
    assert head.kmeans_cfg.num_clusters == 6
    with pytest.raises(ValueError, match='num_clusters must be >= 1'):
        head.num_clusters = 0
    assert head.num_clusters == 6


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_clusters=0), 'num_clusters must be >= 1, got 0'),
    (dict(kmeans_iterations=-1), 'kmeans_iterations must be >= 0, got -1'),
])
def test_kmeans_options_checked(kwargs, message):
    with pytest.raises(ValueError) as info:
        _head(**kwargs)
    assert str(info.value) == message


def test_memory_bank_is_saved_and_restored_with_the_state_dict():
    torch.manual_seed(0)
    head = _head()
    head.train()
    for _ in range(3):
        head.loss(_inputs(), _samples(), None)
    assert len(head.memory) == 2
    state = head.state_dict()
    assert state['memory_bank.counts'].tolist() == [
        m[0].shape[0] for m in head.memory
    ]
    fresh = _head()
    assert len(fresh.memory) == 0
    fresh.load_state_dict(state)  # strict: the bank keys are known
    assert len(fresh.memory) == 2
    for old, new in zip(head.memory, fresh.memory):
        for a, b in zip(old, new):
            assert a.dtype == b.dtype and torch.equal(a, b)
    # A checkpoint saved before the bank was kept loads with an empty one.
    old_ckpt = {k: v for k, v in state.items() if 'memory_bank' not in k}
    other = _head()
    other.load_state_dict(old_ckpt)
    assert len(other.memory) == 0
    # The restored bank takes part in the next step like the original.
    torch.manual_seed(1)
    a = head.loss(_inputs(), _samples(), None)
    torch.manual_seed(1)
    b = fresh.loss(_inputs(), _samples(), None)
    for k in a:
        assert torch.allclose(a[k], b[k]), k


def test_per_rank_option_and_no_gather_in_one_process():
    head = _head(gather_across_ranks=False)
    assert not head.gathers()
    assert not _head().gathers()  # no process group
