"""SegSortLoss: SPML Eq. 1-3 (one relation of Eq. 4)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch.autograd import gradcheck

from mmscribble.models.losses.segsort_loss import (SegSortLoss, segment_logits,
                                                   segsort_plus_loss)


def _naive(emb, proto, pos, neg, own, kappa, fallback='own'):
    """Eq. 3 pixel by pixel with Python sets, float64."""
    losses = []
    for i in range(emb.shape[0]):
        s = int(own[i])
        p = {t for t in range(proto.shape[0]) if pos[i, t] and t != s}
        n = {t for t in range(proto.shape[0]) if neg[i, t] and t != s}
        if not p:
            if fallback == 'ignore' or s < 0:
                continue
            p = {s}
        z = {
            t: math.exp(kappa * float(emb[i].double() @ proto[t].double()))
            for t in p | n
        }
        losses.append(-math.log(sum(z[t] for t in p) / sum(z.values())))
    return sum(losses) / len(losses) if losses else 0.0


def _case():
    emb = torch.tensor([[1., 0.]])
    proto = torch.tensor([[1., 0.], [0., 1.], [-1., 0.]])
    own = torch.tensor([0])
    return emb, proto, own


def test_by_hand_excludes_own_segment():
    emb, proto, own = _case()
    pos = torch.tensor([[True, True, False]])
    neg = torch.tensor([[False, False, True]])
    # C+ = {1} (own segment 0 excluded, Eq. 3), C- = {2}: logits 0 and -1.
    loss = segsort_plus_loss(emb, proto, pos, neg, own, kappa=1.0)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-1)))
    # kappa scales the logits: 0 and -2.
    loss = segsort_plus_loss(emb, proto, pos, neg, own, kappa=2.0)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-2)))
    # Claiming the own segment as a negative changes nothing.
    loss = segsort_plus_loss(
        emb,
        proto,
        pos,
        neg | torch.tensor([[True, False, False]]),
        own,
        kappa=1.0)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-1)))


def test_fallback_by_hand():
    emb, proto, own = _case()
    pos = torch.tensor([[True, False, False]])  # only its own segment
    neg = torch.tensor([[False, True, True]])
    # Eq. 2 on {s} U C-: logits 1 (own), 0, -1.
    loss = segsort_plus_loss(emb, proto, pos, neg, own, kappa=1.0)
    expect = -math.log(math.e / (math.e + 1 + math.exp(-1)))
    assert float(loss) == pytest.approx(expect)
    loss = segsort_plus_loss(
        emb, proto, pos, neg, own, kappa=1.0, fallback='ignore')
    assert float(loss) == 0.0
    with pytest.raises(ValueError, match='fallback'):
        segsort_plus_loss(emb, proto, pos, neg, own, 1.0, fallback='x')
    # No negative: log 1 = 0.
    loss = segsort_plus_loss(
        emb, proto, pos, torch.zeros_like(neg), own, kappa=1.0)
    assert float(loss) == 0.0


def test_matches_naive_reference_and_reductions():
    g = torch.Generator().manual_seed(0)
    p, s = 30, 7
    emb = F.normalize(torch.randn(p, 4, generator=g), dim=1)
    proto = F.normalize(torch.randn(s, 4, generator=g), dim=1)
    r = torch.randint(0, 3, (p, s), generator=g)
    pos, neg = r == 0, r == 1
    own = torch.randint(-1, s, (p, ), generator=g)
    for fb in ('own', 'ignore'):
        loss = segsort_plus_loss(emb, proto, pos, neg, own, 3.0, fallback=fb)
        assert float(loss) == pytest.approx(
            _naive(emb, proto, pos, neg, own, 3.0, fb), rel=1e-5)
    per = segsort_plus_loss(emb, proto, pos, neg, own, 3.0, reduction='none')
    total = segsort_plus_loss(emb, proto, pos, neg, own, 3.0, reduction='sum')
    assert per.shape == (p, ) and float(per.sum()) == pytest.approx(
        float(total))
    w = torch.rand(p, generator=g)
    wl = segsort_plus_loss(emb, proto, pos, neg, own, 3.0, weight=w)
    own_mask = own[:, None] == torch.arange(s)[None]
    counted = ((pos & ~own_mask).any(1) | (own >= 0)).float()
    assert float(wl) == pytest.approx(
        float((per * w).sum() / (w * counted).sum()), rel=1e-5)


def test_half_precision_where_raw_exp_overflows():
    g = torch.Generator().manual_seed(1)
    emb = F.normalize(torch.randn(8, 64, generator=g), dim=1)
    proto = torch.cat([emb[:4], -emb[4:]])  # cosines of +-1
    pos = torch.eye(8, dtype=torch.bool).roll(1, 1)
    neg = ~pos
    own = torch.arange(8)
    assert torch.isinf(torch.exp(16 * (emb.half() @ proto.half().t()))).any()
    ref = segsort_plus_loss(emb.double(), proto.double(), pos, neg, own, 16.)
    half = segsort_plus_loss(emb.half(), proto.half(), pos, neg, own, 16.)
    assert half.dtype == torch.float32 and torch.isfinite(half)
    assert float(half) == pytest.approx(float(ref), rel=1e-3)
    assert segment_logits(emb.half(), proto.half(), 16.).dtype == \
        torch.float32


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(2)
    emb = torch.randn(6, 3, generator=g, dtype=torch.float64)
    proto = torch.randn(5, 3, generator=g, dtype=torch.float64)
    r = torch.randint(0, 3, (6, 5), generator=g)
    own = torch.tensor([0, 1, -1, 2, 4, 3])

    def f(e, m):
        return segsort_plus_loss(
            F.normalize(e, dim=1), F.normalize(m, dim=1), r == 0, r == 1, own,
            4.0)

    assert gradcheck(f, (emb.requires_grad_(), proto.requires_grad_()))


def test_nothing_counted_is_finite_zero_with_grad():
    emb = F.normalize(torch.randn(5, 3), dim=1).requires_grad_()
    proto = F.normalize(torch.randn(4, 3), dim=1)
    none = torch.zeros(5, 4, dtype=torch.bool)
    own = torch.full((5, ), -1)
    loss = segsort_plus_loss(emb, proto, none, none, own, 6.0)
    assert loss.item() == 0.0 and loss.grad_fn is not None
    loss.backward()
    assert torch.equal(emb.grad, torch.zeros_like(emb))


def test_module_equals_functional_and_checks():
    emb, proto, own = _case()
    pos = torch.tensor([[True, True, False]])
    neg = ~pos
    loss = MODELS.build(
        dict(
            type='SegSortLoss',
            kappa=2.0,
            loss_weight=0.5,
            loss_name='loss_spml_sem'))
    assert loss.loss_name == 'loss_spml_sem'
    out = loss(emb, proto, pos, neg, own)
    assert float(out) == pytest.approx(
        0.5 * float(segsort_plus_loss(emb, proto, pos, neg, own, 2.0)))
    cos = emb @ proto.t()
    assert float(loss(emb, proto, pos, neg, own, cosine=cos)) == \
        pytest.approx(float(out))
    with pytest.raises(ValueError, match='kappa'):
        SegSortLoss(kappa=0)
    with pytest.raises(ValueError, match='positive'):
        loss(emb, proto, pos[:, :2], neg, own)
    with pytest.raises(ValueError, match='embedding'):
        loss(emb[:, :1], proto, pos, neg, own)


def test_shared_shift_equals_masked_logsumexp(monkeypatch):
    import mmscribble.models.losses.segsort_loss as mod
    g = torch.Generator().manual_seed(3)
    emb = F.normalize(torch.randn(40, 8, generator=g), dim=1)
    proto = F.normalize(torch.randn(9, 8, generator=g), dim=1)
    r = torch.randint(0, 3, (40, 9), generator=g)
    own = torch.randint(-1, 9, (40, ), generator=g)
    for kappa in (6.0, 16.0, 40.0):
        fast = segsort_plus_loss(
            emb, proto, r == 0, r == 1, own, kappa, reduction='none')
        monkeypatch.setattr(mod, '_SHARED_SHIFT_MAX_KAPPA', 0.0)
        slow = segsort_plus_loss(
            emb, proto, r == 0, r == 1, own, kappa, reduction='none')
        monkeypatch.undo()
        assert torch.allclose(fast, slow, rtol=1e-5, atol=1e-5)
        ref = segsort_plus_loss(
            emb.double(),
            proto.double(),
            r == 0,
            r == 1,
            own,
            kappa,
            reduction='none')
        assert torch.allclose(fast.double(), ref, rtol=1e-4, atol=1e-5)


def test_grouped_equals_masked():
    from mmscribble.models.losses.segsort_loss import \
        grouped_segsort_plus_loss
    g = torch.Generator().manual_seed(4)
    p, s, ng = 50, 12, 4
    emb = F.normalize(
        torch.randn(p, 5, generator=g, dtype=torch.float64), dim=1)
    proto = F.normalize(
        torch.randn(s, 5, generator=g, dtype=torch.float64), dim=1)
    seg_group = torch.randint(0, ng, (s, ), generator=g)
    pos_g = torch.rand(p, ng, generator=g) < 0.3
    cand_g = pos_g | (torch.rand(p, ng, generator=g) < 0.5)
    own = torch.randint(-1, s, (p, ), generator=g)
    w = torch.rand(p, generator=g, dtype=torch.float64)
    pos = pos_g[:, seg_group]
    neg = cand_g[:, seg_group] & ~pos
    for kappa in (6.0, 16.0, 50.0):
        logits = segment_logits(emb, proto, kappa)
        for fb in ('own', 'ignore'):
            a = grouped_segsort_plus_loss(
                logits,
                seg_group,
                pos_g,
                cand_g,
                own,
                kappa,
                fallback=fb,
                weight=w,
                reduction='none')
            b = segsort_plus_loss(
                emb,
                proto,
                pos,
                neg,
                own,
                kappa,
                fallback=fb,
                weight=w,
                reduction='none')
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-10), (kappa, fb)

    def f(e, m):
        lg = segment_logits(F.normalize(e, dim=1), F.normalize(m, dim=1), 4.)
        return grouped_segsort_plus_loss(lg, seg_group, pos_g, cand_g, own,
                                         4.0)

    assert gradcheck(
        f, (emb.clone().requires_grad_(), proto.clone().requires_grad_()))
    empty = grouped_segsort_plus_loss(
        torch.zeros(3, 0, requires_grad=True), seg_group[:0], pos_g[:3],
        cand_g[:3], own[:3].clamp(max=-1), 6.0)
    assert empty.item() == 0.0 and empty.grad_fn is not None


@pytest.mark.parametrize('kappa', [16.0, 50.0])
def test_one_orthogonal_negative_keeps_its_value_in_float32(kappa):
    # Issue 26: the masked form added the row maximum back before
    # subtracting two log-sums and returned 0 instead of log(1 + e^-k)
    # (1.125e-7 at kappa 16) in float32. Both forms must give the value.
    from mmscribble.models.losses.segsort_loss import \
        grouped_segsort_plus_loss
    emb = torch.tensor([[1.0, 0.0]])
    proto = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pos = torch.tensor([[True, False]])
    own = torch.tensor([-1])
    expected = math.log1p(math.exp(-kappa))
    masked = segsort_plus_loss(emb, proto, pos, ~pos, own, kappa)
    grouped = grouped_segsort_plus_loss(
        segment_logits(emb, proto, kappa), torch.tensor([0, 1]),
        torch.tensor([[True, False]]), torch.tensor([[True, True]]), own,
        kappa)
    for value in (masked, grouped):
        assert value.dtype == torch.float32
        assert value.item() == pytest.approx(expected, rel=1e-6)
