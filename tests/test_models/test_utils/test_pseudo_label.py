"""self_training_target: BLPSeg's sharpened pseudo-label, by hand."""
import pytest
import torch

from mmscribble.models.utils import self_training_target

K = 3


def test_self_training_target_by_hand():
    # One image, K = 3, tags {0, 1}, seven pixels in a row.
    p = torch.tensor(
        [
            [0.02, 0.95, 0.03],  # 0: class 1, confident -> 1
            [0.03, 0.02, 0.95],  # 1: class 2 untagged -> ignore
            [0.85, 0.10, 0.05],  # 2: class 0 at 0.85 < 0.9 -> ignore
            [0.02, 0.95, 0.03],  # 3: scribbled 0 -> 0 (override)
            [0.02, 0.95, 0.03],  # 4: padding -> ignore
            [0.05, 0.9 + 1e-6, 0.05 - 1e-6],  # 5: just above -> 1
            [0.05, 0.9 - 1e-6, 0.05 + 1e-6],  # 6: just below -> ignore
        ],
        dtype=torch.float64)
    logits = p.log().T.reshape(1, K, 1, 7)
    scribbles = torch.full((1, 1, 7), 255)
    scribbles[0, 0, 3] = 0
    tags = torch.tensor([[1., 1., 0.]])
    valid = torch.ones(1, 1, 7, dtype=torch.uint8)
    valid[0, 0, 4] = 0
    target = self_training_target(logits, scribbles, tags, valid, 0.9)
    assert target.tolist() == [[[1, 255, 255, 0, 255, 1, 255]]]
    assert target.dtype == torch.long
    # Lower threshold: pixel 2 is kept.
    target = self_training_target(logits, scribbles, tags, valid, 0.8)
    assert target.tolist() == [[[1, 255, 0, 0, 255, 1, 1]]]
    # Tagging class 2: pixel 1 becomes 2.
    tags[0, 2] = 1
    target = self_training_target(logits, scribbles, tags, valid, 0.9)
    assert target[0, 0, 1].item() == 2
    # A confidence equal to the threshold is kept (>=).
    conf = float(logits[0, :, 0, 0].softmax(0).max())
    assert self_training_target(logits, scribbles, tags, valid,
                                conf)[0, 0, 0].item() == 1
    # No tag: scribbles only.
    target = self_training_target(logits, scribbles, torch.zeros(1, K), None,
                                  0.9)
    assert target.tolist() == [[[255, 255, 255, 0, 255, 255, 255]]]


def test_padding_wins_over_a_scribble_and_ignore_index_is_used():
    logits = torch.tensor([[5., -5.], [5., -5.]]).T.reshape(1, 2, 1, 2)
    scribbles = torch.tensor([[[1, 1]]])
    valid = torch.tensor([[[1, 0]]])
    target = self_training_target(
        logits, scribbles, torch.ones(1, 2), valid, ignore_index=7)
    # Pixel 0: scribbled 1 over a confident 0; pixel 1: padding.
    assert target.tolist() == [[[1, 7]]]


def test_half_precision_logits_give_the_float_answer():
    """Half-precision logits are thresholded as their float values."""
    torch.manual_seed(0)
    logits = (torch.randn(2, K, 4, 4) * 3).bfloat16()
    scribbles = torch.full((2, 4, 4), 255)
    tags = torch.ones(2, K)
    got = self_training_target(logits, scribbles, tags, threshold=0.6)
    want = self_training_target(logits.float(), scribbles, tags, threshold=0.6)
    assert torch.equal(got, want)
    assert (want != 255).any() and (want == 255).any()


def test_reads_no_value_so_no_host_sync():
    """``vmap`` refuses every step whose result depends on tensor values
    (boolean-mask assignment, ``bool(t.any())``), the steps that stall on
    a host synchronisation on CUDA; ``torch.where`` batches."""
    torch.manual_seed(0)
    logits = torch.randn(2, K, 4, 5) * 3
    scribbles = torch.randint(0, K, (2, 4, 5))
    scribbles[:, :2] = 255
    tags = torch.tensor([[1., 1., 0.], [0., 1., 1.]])
    valid = torch.ones(2, 4, 5, dtype=torch.uint8)
    valid[..., 4] = 0

    def one(logit, scribble, tag, mask):
        return self_training_target(logit[None], scribble[None], tag[None],
                                    mask[None], 0.6)[0]

    batched = torch.func.vmap(one)(logits, scribbles, tags, valid)
    assert torch.equal(
        batched, self_training_target(logits, scribbles, tags, valid, 0.6))


def test_no_gradient():
    logits = torch.randn(1, K, 2, 2, requires_grad=True)
    target = self_training_target(logits, torch.full((1, 2, 2), 255),
                                  torch.ones(1, K))
    assert not target.requires_grad


def test_self_training_target_checks_arguments():
    logits = torch.zeros(1, K, 2, 2)
    scribbles = torch.full((1, 2, 2), 255)
    tags = torch.ones(1, K)
    with pytest.raises(ValueError, match='threshold'):
        self_training_target(logits, scribbles, tags, threshold=0.0)
    with pytest.raises(ValueError, match='img_tags'):
        self_training_target(logits, scribbles, torch.ones(1, K + 1))
    with pytest.raises(ValueError, match='scribbles'):
        self_training_target(logits, scribbles[0], tags)
    with pytest.raises(ValueError, match='valid_mask'):
        self_training_target(logits, scribbles, tags, torch.ones(2, 2))
    with pytest.raises(ValueError, match='seg_logits'):
        self_training_target(logits[0], scribbles, tags)


def test_agreement_with_a_second_head_by_hand():
    # Four pixels, all confident for class 1 (tags {0, 1}); the second head
    # (K + 1 channels, the last "not scribbled", unused) says per pixel:
    #   0: class 1            -> agree, keep 1
    #   1: class 0            -> disagree, ignore
    #   2: class 2 (untagged) then 1 -> tag-restricted argmax 1, keep 1
    #   3: "not scribbled" channel largest, class 1 among K -> keep 1
    # and a scribble (pixel 1 scribbled 0) still overrides.
    p = torch.tensor([[0.02, 0.95, 0.03]] * 4, dtype=torch.float64)
    logits = p.log().T.reshape(1, K, 1, 4)
    other = torch.tensor([
        [0.1, 0.8, 0.05, 0.05],
        [0.8, 0.1, 0.05, 0.05],
        [0.05, 0.3, 0.6, 0.05],
        [0.05, 0.2, 0.05, 0.7],
    ]).log().T.reshape(1, K + 1, 1, 4)
    scribbles = torch.full((1, 1, 4), 255)
    tags = torch.tensor([[1., 1., 0.]])
    plain = self_training_target(logits, scribbles, tags)
    assert plain.tolist() == [[[1, 1, 1, 1]]]
    agreed = self_training_target(logits, scribbles, tags, agree_logits=other)
    assert agreed.tolist() == [[[1, 255, 1, 1]]]
    scribbles[0, 0, 1] = 0
    agreed = self_training_target(logits, scribbles, tags, agree_logits=other)
    assert agreed.tolist() == [[[1, 0, 1, 1]]]
    # agreeing with itself changes nothing; a wrong shape is named
    assert torch.equal(
        self_training_target(logits, scribbles, tags, agree_logits=logits),
        self_training_target(logits, scribbles, tags))
    with pytest.raises(ValueError, match='agree_logits'):
        self_training_target(
            logits, scribbles, tags, agree_logits=other[:, :2])
    with pytest.raises(ValueError, match='agree_logits'):
        self_training_target(
            logits, scribbles, tags, agree_logits=other[..., :2])


def test_class_portion_keeps_the_top_of_every_class_by_hand():
    # One image, tags {0, 1}; predicted class and confidence per pixel:
    #   class 0: 0.99, 0.98, 0.97, 0.96 (all >= tau 0.95)
    #   class 1: 0.80, 0.70, 0.60      (none >= tau)
    # p = 0.5: class 1 keeps its ceil(1.5) = 2 most confident (0.80,
    # 0.70); class 0 keeps all four through tau; a padded class-1 pixel
    # (0.99) is neither counted nor kept.
    confs = [(0, 0.99), (1, 0.60), (0, 0.98), (1, 0.80), (0, 0.97),
             (1, 0.70), (0, 0.96), (1, 0.99)]
    p = torch.zeros(len(confs), K, dtype=torch.float64)
    for i, (c, v) in enumerate(confs):
        p[i, c] = v
        p[i, 1 - c] = 1 - v
    logits = p.clamp_min(1e-12).log().T.reshape(1, K, 1, len(confs))
    scribbles = torch.full((1, 1, len(confs)), 255)
    tags = torch.tensor([[1., 1., 0.]])
    valid = torch.ones(1, 1, len(confs))
    valid[0, 0, 7] = 0
    plain = self_training_target(logits, scribbles, tags, valid, 0.95)
    assert plain.tolist() == [[[0, 255, 0, 255, 0, 255, 0, 255]]]
    got = self_training_target(
        logits, scribbles, tags, valid, 0.95, class_portion=0.5)
    assert got.tolist() == [[[0, 255, 0, 1, 0, 1, 0, 255]]]
    # p = 1 keeps every real pixel; an image without tags keeps none
    full = self_training_target(
        logits, scribbles, tags, valid, 0.95, class_portion=1.0)
    assert full.tolist() == [[[0, 1, 0, 1, 0, 1, 0, 255]]]
    none = self_training_target(
        logits, scribbles, torch.zeros(1, K), valid, 0.95, class_portion=1.0)
    assert (none == 255).all()
    with pytest.raises(ValueError, match='class_portion'):
        self_training_target(logits, scribbles, tags, class_portion=0.0)


def test_class_portion_per_image_of_a_batch():
    # the quota is per image: stacking two images gives each its own
    torch.manual_seed(0)
    logits = torch.randn(2, K, 5, 6) * 2
    scribbles = torch.full((2, 5, 6), 255)
    tags = torch.tensor([[1., 1., 0.], [0., 1., 1.]])
    both = self_training_target(
        logits, scribbles, tags, threshold=0.99, class_portion=0.3)
    for i in range(2):
        one = self_training_target(
            logits[i:i + 1],
            scribbles[i:i + 1],
            tags[i:i + 1],
            threshold=0.99,
            class_portion=0.3)
        assert torch.equal(both[i:i + 1], one)
        pred = (logits[i].softmax(0) * tags[i, :, None, None]).argmax(0)
        for c in range(K):
            m = int((pred == c).sum())
            assert int((one[0] == c).sum()) >= -(-3 * m // 10)
