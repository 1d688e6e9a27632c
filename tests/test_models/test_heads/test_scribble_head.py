"""ScribbleHeadMixin: what every scribble head shares, checked once."""
import math

import pytest
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.models.decode_heads import FCNHead, UPerHead
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.structures import SegDataSample

from mmscribble.models.heads import (BaseScribbleHead, BLPSegHead,
                                     DeepLabV2Head, ScribbleHeadMixin,
                                     URSSHead)
from mmscribble.models.segmentors import ScribbleEncoderDecoder


def make_head(loss_decode=dict(type='PartialCrossEntropyLoss'), **kwargs):
    return DeepLabV2Head(
        in_channels=4,
        channels=4,
        num_classes=2,
        dilations=(1, ),
        loss_decode=loss_decode,
        **kwargs)


def make_samples(valid_masks, tags=None):
    samples = []
    for i, valid in enumerate(valid_masks):
        s = SegDataSample()
        s.gt_valid_mask = PixelData(data=valid[None].to(torch.uint8))
        s.set_metainfo(dict(img_tags=None if tags is None else tags[i]))
        samples.append(s)
    return samples


# ---------------------------------------------------------------------------
# Which classes are scribble heads
# ---------------------------------------------------------------------------
def test_the_segmentor_recognises_heads_by_the_mixin():
    """ScribbleEncoderDecoder asks isinstance(head, ScribbleHeadMixin)."""
    blpseg = BLPSegHead(
        in_channels=[4, 4, 4, 4],
        in_index=[0, 1, 2, 3],
        channels=4,
        num_classes=2,
        pool_scales=(1, ),
        lam=dict(sigma=2.0, embed_dims=4, proj_channels=4))
    assert isinstance(blpseg, ScribbleHeadMixin)
    assert isinstance(blpseg, UPerHead)
    assert not isinstance(blpseg, BaseScribbleHead)
    assert issubclass(URSSHead, ScribbleHeadMixin)
    plain = FCNHead(in_channels=4, channels=4, num_classes=2)
    assert not isinstance(plain, ScribbleHeadMixin)
    assert isinstance(plain, BaseDecodeHead)
    segmentor = ScribbleEncoderDecoder.__new__(ScribbleEncoderDecoder)
    for head, expected in ((blpseg, True), (plain, False)):
        segmentor.__dict__['decode_head'] = head
        assert segmentor._is_scribble_head() is expected


def test_mixin_must_precede_an_mmseg_head():
    with pytest.raises(TypeError, match='before an mmseg decode head'):

        class AfterUPer(UPerHead, ScribbleHeadMixin):
            pass

    with pytest.raises(TypeError, match='before an mmseg decode head'):

        class Alone(ScribbleHeadMixin):
            pass


def test_needs_inputs_heads_get_the_image():

    class ImageHead(ScribbleHeadMixin, FCNHead):
        needs_inputs = True

        def forward(self, inputs, img):
            return super().forward(inputs) + img.mean()

    head = ImageHead(
        in_channels=4,
        channels=4,
        num_classes=2,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0)
    x = [torch.randn(1, 4, 3, 3)]
    meta = [dict(img_shape=(3, 3), pad_shape=(3, 3))]
    img = torch.full((1, 3, 3, 3), 2.0)
    torch.testing.assert_close(
        head.predict(x, meta, None, img=img),
        FCNHead.forward(head, x) + 2.0)
    with pytest.raises(ValueError, match='needs the input image'):
        head.predict(x, meta, None)


# ---------------------------------------------------------------------------
# Loss names
# ---------------------------------------------------------------------------
def test_build_aux_loss_names_are_distinct():
    head = make_head([
        dict(type='PartialCrossEntropyLoss'),
        dict(type='CrossEntropyLoss', loss_name='loss_ce')
    ])
    taken = head.decode_loss_names()
    assert taken == {'loss_pce': 'loss_decode', 'loss_ce': 'loss_decode'}
    assert head.build_aux_loss(None, 'loss_entropy', taken) is None
    entropy = head.build_aux_loss(
        dict(type='SoftEntropyLoss'), 'loss_entropy', taken)
    assert entropy.loss_name == 'loss_entropy'
    assert taken['loss_entropy'] == 'loss_entropy'
    with pytest.raises(ValueError) as err:
        head.build_aux_loss(
            dict(type='EigenspaceLoss', loss_name='loss_pce'), 'loss_eigen',
            taken)
    assert str(err.value) == (
        "loss_eigen: loss_name 'loss_pce' is already used by loss_decode; "
        'each loss of a head needs a distinct loss_name, or mmengine logs '
        'and sums them as one')
    # Later losses are checked against earlier auxiliary ones too.
    with pytest.raises(
            ValueError, match="'loss_entropy' is already used by "
            'loss_entropy'):
        head.build_aux_loss(
            dict(type='EigenspaceLoss', loss_name='loss_entropy'),
            'loss_eigen', taken)
    assert set(taken) == {'loss_pce', 'loss_ce', 'loss_entropy'}


def test_loss_names_must_contain_loss():
    with pytest.raises(ValueError) as err:
        make_head(dict(type='CrossEntropyLoss', loss_name='ce'))\
            .decode_loss_names()
    assert str(err.value) == ("loss_decode: loss_name must contain 'loss' "
                              "so that mmengine sums it, got 'ce'")
    head = make_head()
    with pytest.raises(ValueError, match="loss_entropy: loss_name must"):
        # A loss built outside BaseScribbleLoss, whose name is not checked.
        head.build_aux_loss(
            dict(type='CrossEntropyLoss', loss_name='entropy'), 'loss_entropy',
            head.decode_loss_names())


# ---------------------------------------------------------------------------
# One loop over loss_decode
# ---------------------------------------------------------------------------
def test_sum_decode_losses_by_hand():
    # One image, 2 x 2 pixels, K = 2. Pixel 0: logits (0, log 3), label 1,
    # p = 3/4; pixel 1: logits (0, 0), label 0, p = 1/2; two unlabeled.
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1, 0, 0] = math.log(3)
    label = torch.tensor([[[1, 0], [255, 255]]])
    ce = [math.log(4 / 3), math.log(2)]
    head = make_head([
        dict(type='PartialCrossEntropyLoss'),
        dict(type='PartialCrossEntropyLoss', loss_weight=0.5),
        dict(type='CrossEntropyLoss', loss_name='loss_ce'),
    ])
    losses = head.sum_decode_losses(logits, label)
    assert set(losses) == {'loss_pce', 'loss_ce'}
    # Same name: summed, 1 + 0.5 times the mean over the labeled pixels.
    assert losses['loss_pce'].item() == pytest.approx(1.5 * sum(ce) / 2)
    # mmseg's CE divides by every pixel (avg_non_ignore=False).
    assert losses['loss_ce'].item() == pytest.approx(sum(ce) / 4)
    # ignore_index defaults to the head's, and kwargs reach every loss.
    head.ignore_index = 0
    label = torch.tensor([[[1, 0], [0, 0]]])
    losses = head.sum_decode_losses(logits, label)
    assert losses['loss_pce'].item() == pytest.approx(1.5 * ce[0])
    weight = torch.tensor([[[2., 0.], [0., 0.]]])
    losses = head.sum_decode_losses(logits, label, weight=weight)
    assert losses['loss_ce'].item() == pytest.approx(2 * ce[0] / 4)


def test_single_loss_decode_is_a_list_of_one():
    head = make_head()
    assert isinstance(head.loss_decode, nn.Module)
    assert head.decode_losses() == [head.loss_decode]
    head = make_head([dict(type='PartialCrossEntropyLoss')] * 2)
    assert head.decode_losses() == list(head.loss_decode)


# ---------------------------------------------------------------------------
# Per-sample data
# ---------------------------------------------------------------------------
def test_feature_valid_mask_by_hand():
    # 9 x 11 padded batch; image 0 is the top-left 7 x 6 block, image 1
    # the top-left 9 x 3. Stride-4 cells are centred on pixels 0, 4, 8.
    valid = torch.zeros(2, 9, 11)
    valid[0, :7, :6] = 1
    valid[1, :, :3] = 1
    head = make_head()
    mask = head.feature_valid_mask(make_samples(valid), (3, 3), stride=4)
    assert mask.tolist() == [
        [[True, True, False], [True, True, False], [False, False, False]],
        [[True, False, False], [True, False, False], [True, False, False]],
    ]
    # The stride is inferred from the sizes when not given.
    assert torch.equal(
        head.feature_valid_mask(make_samples(valid), (3, 3)), mask)
    with pytest.raises(ValueError, match='output stride 8'):
        head.feature_valid_mask(make_samples(valid), (3, 3), stride=8)
    samples = make_samples(valid)
    del samples[1].gt_valid_mask
    assert head.feature_valid_mask(samples, (3, 3), stride=4) is None


def test_stack_map_and_img_tags():
    valid = torch.ones(2, 3, 4)
    valid[1, :, 3] = 0
    samples = make_samples(valid, tags=[[0], []])
    head = make_head()
    assert head.stack_map(samples, 'gt_valid_mask').tolist() == \
        valid.to(torch.uint8).tolist()
    assert head.has_map(samples, 'gt_valid_mask')
    assert not head.has_map(samples, 'gt_boundary_map')
    with pytest.raises(KeyError, match='gt_boundary_map'):
        head.stack_map(samples, 'gt_boundary_map')
    assert head.img_tags(samples, 3).tolist() == [[1, 0, 0], [0, 0, 0]]
    samples[0].set_metainfo(dict(img_tags=[2, 1]))
    assert head.img_tags(samples, 3).tolist() == [[0, 1, 1], [0, 0, 0]]
    with pytest.raises(KeyError, match='img_tags'):
        head.img_tags(make_samples(valid), 3)


# ---------------------------------------------------------------------------
# acc_seg
# ---------------------------------------------------------------------------
def test_log_accuracy_by_hand_and_unlabelled_batch():
    from mmscribble.models.utils.accuracy import log_accuracy
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1, 0] = 1  # predicts class 1 on row 0, class 0 on row 1
    label = torch.tensor([[[1, 0], [1, 255]]])
    # Labelled: (0,0) right, (0,1) wrong, (1,0) wrong: 1 of 3.
    out = log_accuracy({}, logits, label, 255)
    torch.testing.assert_close(out['acc_seg'], torch.tensor(100 / 3))
    # Issue 26: mmseg's accuracy logs 100.0 (eps / eps) for a batch
    # without labelled pixel; it has no accuracy, so none is logged.
    assert log_accuracy({}, logits, torch.full_like(label, 255), 255) == {}


def test_loss_by_feat_logs_no_accuracy_without_labels():
    torch.manual_seed(0)
    head = make_head()
    feats = torch.randn(2, 4, 4, 4, requires_grad=True)
    label = torch.full((1, 8, 8), 255, dtype=torch.long)
    samples = make_samples([torch.ones(8, 8)] * 2)
    for s in samples:
        s.gt_sem_seg = PixelData(data=label.clone())
    losses = head.loss_by_feat(head.forward([feats]), samples)
    assert 'acc_seg' not in losses
    assert losses['loss_pce'].item() == 0
    losses['loss_pce'].backward()
    assert torch.isfinite(feats.grad).all()
    samples[1].gt_sem_seg.data[0, 3, :] = 1
    losses = head.loss_by_feat(head.forward([feats]), samples)
    logits = torch.nn.functional.interpolate(
        head.forward([feats]), size=(8, 8), mode='bilinear')
    right = (logits[1].argmax(0)[3] == 1).float().mean() * 100
    torch.testing.assert_close(losses['acc_seg'], right)
