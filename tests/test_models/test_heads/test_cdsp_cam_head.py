"""CDSPCAMHead: GAP + FC + BCE on the scribbles' tags, CAMs (Eq. 6) and
the thresholded, max-normalised pseudo-label."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def head(**kw):
    return MODELS.build(
        dict(
            type='CDSPCAMHead',
            in_channels=3,
            in_index=-1,
            num_classes=4,
            **kw))


def sample(tags, valid_cols=4):
    s = SegDataSample()
    v = torch.zeros(1, 8, 8, dtype=torch.uint8)
    v[0, :, :2 * valid_cols] = 1
    s.gt_valid_mask = PixelData(data=v)
    s.set_metainfo(dict(img_tags=tags, img_shape=(8, 8)))
    return s


def test_loss_is_bce_of_masked_gap_plus_bias():
    torch.manual_seed(0)
    h = head()
    h.cls_bias.data = torch.tensor([0.1, -0.2, 0.3])
    feat = torch.randn(2, 3, 4, 4)
    out = h.loss([feat], [sample([0, 2]), sample([0, 1, 3], 2)], None)
    maps = torch.einsum('kc,nchw->nkhw', h.conv_seg.weight[:, :, 0, 0], feat)
    logits = torch.stack(
        [maps[0].mean((1, 2)), maps[1][:, :, :2].mean((1, 2))]) + h.cls_bias
    target = torch.tensor([[0., 1., 0.], [1., 0., 1.]])  # background out
    torch.testing.assert_close(
        out['loss_cls'], F.binary_cross_entropy_with_logits(logits, target))
    out['loss_cls'].backward()
    assert h.conv_seg.weight.grad.abs().sum() > 0
    # Eq. 6: ReLU of the class maps, no bias
    torch.testing.assert_close(h.forward([feat]), maps.relu())


def test_pseudo_label_rule():
    h = head(threshold=0.25)
    cams = torch.zeros(1, 3, 1, 4)
    cams[0, 0] = torch.tensor([4., 2., 0.5, 0.])  # class 1: max 4
    cams[0, 2] = torch.tensor([0., 3., 3., 0.2])  # class 3: max 3
    cams[0, 1] = torch.tensor([9., 9., 9., 9.])  # class 2: not tagged
    tags = torch.tensor([[1., 0., 1.]])
    scores = h.cam_scores(cams, torch.zeros(1, 3), tags)
    assert scores[0].argmax(0).tolist() == [[1, 3, 3, 0]]
    torch.testing.assert_close(scores[0, :, 0, 0],
                               torch.tensor([0.25, 1.0, -1.0, 0.0]))
    # without tags: the classes the classifier finds (logit > 0)
    untagged = h.cam_scores(cams, torch.tensor([[-1., 2., -1.]]), None)
    assert untagged[0].argmax(0).tolist() == [[2, 2, 2, 2]]


def test_predict_uses_img_tags_and_image_size():
    torch.manual_seed(0)
    h = head().eval()
    metas = [dict(img_shape=(8, 8), img_tags=[0, 3])]
    out = h.predict([torch.randn(1, 3, 4, 4)], metas, None)
    assert out.shape == (1, 4, 8, 8)
    assert set(out[0].argmax(0).unique().tolist()) <= {0, 3}


def test_argument_errors():
    with pytest.raises(ValueError, match='threshold'):
        head(threshold=2)
    with pytest.raises(ValueError, match='background_index'):
        head(background_index=7)
