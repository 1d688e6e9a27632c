"""mmscribble.models.utils.spml_stage2_label on a hand-made image."""
import pytest
import torch

from mmscribble.models.utils.spml_stage2_label import spml_stage2_label


@pytest.fixture
def image():
    """A 2 x 4 grid: the left half embeds along e0, the right half along
    e1. Class 3 scores highest everywhere; of the others, class 1 leads on
    the left and class 2 on the right."""
    emb = torch.zeros(1, 3, 2, 4)
    emb[0, 0, :, :2] = 1
    emb[0, 1, :, 2:] = 1
    logits = torch.zeros(1, 4, 2, 4)
    logits[0, 3] = 5.0
    logits[0, 1, :, :2] = 2.0
    logits[0, 2, :, 2:] = 2.0
    return emb, logits


def halves(h, w, left, right):
    out = torch.full((h, w), right, dtype=torch.long)
    out[:, :w // 2] = left
    return out


def test_all_classes_without_tags(image):
    label = spml_stage2_label(*image, 4, None, (4, 8), steps=8)
    assert label.dtype == torch.long and label.shape == (4, 8)
    torch.testing.assert_close(label, torch.full((4, 8), 3))
    # an empty tag list keeps every class too
    torch.testing.assert_close(
        spml_stage2_label(*image, 4, [], (4, 8), steps=8), label)


def test_tags_restrict_the_classes(image):
    # class 3 is not among the scribbles: it never appears
    label = spml_stage2_label(*image, 4, [1, 2], (4, 8), steps=8)
    torch.testing.assert_close(label, halves(4, 8, 1, 2))
    label = spml_stage2_label(*image, 4, [2], (4, 8), steps=8)
    torch.testing.assert_close(label, torch.full((4, 8), 2))
    # one tag: every pixel takes it (a tuple does as well as a list)
    label = spml_stage2_label(*image, 4, (1, ), (4, 8), steps=8)
    torch.testing.assert_close(label, torch.full((4, 8), 1))


def test_crop_and_walk_stride(image):
    full = spml_stage2_label(*image, 4, [1, 2], (4, 8), steps=8)
    crop = spml_stage2_label(*image, 4, [1, 2], (4, 8), crop=(3, 5), steps=8)
    torch.testing.assert_close(crop, full[:3, :5])
    # pooled 2 x 2 before the walk: a 1 x 2 grid, one cell per half
    pooled = spml_stage2_label(
        *image, 4, [1, 2], (4, 8), walk_stride=2, steps=8)
    torch.testing.assert_close(pooled, halves(4, 8, 1, 2))
