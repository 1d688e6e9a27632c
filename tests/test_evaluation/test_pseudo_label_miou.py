"""mmscribble.evaluation.pseudo_label_miou on hand-made label folders."""
import math

import numpy as np
import pytest

from mmscribble.datasets.label_io import write_label_png
from mmscribble.evaluation.pseudo_label_miou import pseudo_label_miou


@pytest.fixture
def folders(tmp_path):
    """Two 2 x 3 images, 3 classes. Pooled over both (ground truth rows,
    pseudo-label columns, last column no label):

    a: gt [[0, 0, 1], [1, 2, 255]], pseudo [[0, 1, 1], [1, 255, 0]]
    b: gt [[0, 0, 0], [1, 1, 1]],   pseudo [[0, 0, 0], [1, 1, 1]]

    class 0: tp 4, gt 5, pred 4 -> IoU 4 / 5
    class 1: tp 5, gt 5, pred 6 -> IoU 5 / 6
    class 2: tp 0, gt 1 (its pixel abstains), pred 0 -> IoU 0
    """
    gt, pseudo = tmp_path / 'gt', tmp_path / 'pseudo'
    maps = dict(
        a=([[0, 0, 1], [1, 2, 255]], [[0, 1, 1], [1, 255, 0]]),
        b=([[0, 0, 0], [1, 1, 1]], [[0, 0, 0], [1, 1, 1]]))
    for stem, (g, p) in maps.items():
        write_label_png(np.array(g, np.uint8), str(gt / f'{stem}.png'))
        write_label_png(np.array(p, np.uint8), str(pseudo / f'{stem}.png'))
    return str(pseudo), str(gt)


def test_pooled_iou_worked_by_hand(folders):
    out = pseudo_label_miou(*folders, 3)
    assert out['images'] == 2
    np.testing.assert_array_equal(
        out['confusion'],
        [[4, 1, 0, 0], [0, 5, 0, 0], [0, 0, 0, 1]])  # 11 scored pixels
    np.testing.assert_allclose(out['iou'], [4 / 5, 5 / 6, 0])
    assert out['miou'] == pytest.approx(100 * (4 / 5 + 5 / 6) / 3)


def test_split_file_and_absent_class(folders, tmp_path):
    split = tmp_path / 'one.txt'
    split.write_text('b\n\nb\n')  # blank lines and repeats are skipped
    out = pseudo_label_miou(*folders, 4, splits=[str(split)])
    assert out['images'] == 1
    # class 2 and 3 are absent from b: NaN, left out of the mean
    assert math.isnan(out['iou'][2]) and math.isnan(out['iou'][3])
    assert out['miou'] == pytest.approx(100.0)
    # ignore_index 0: b's background pixels are not scored, its three
    # class-1 pixels are
    out = pseudo_label_miou(*folders, 3, splits=[str(split)], ignore_index=0)
    np.testing.assert_array_equal(out['confusion'],
                                  [[0, 0, 0, 0], [0, 3, 0, 0], [0, 0, 0, 0]])
    # then a's 255 is a class id outside [0, 3): refused, not dropped
    with pytest.raises(ValueError, match='class id 255 outside'):
        pseudo_label_miou(*folders, 3, ignore_index=0)


def test_bad_input_names_the_file(folders, tmp_path):
    pseudo, gt = folders
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        pseudo_label_miou(pseudo, gt, 3, splits=[str(tmp_path / 'nope.txt')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no image'):
        pseudo_label_miou(str(tmp_path / 'empty'), gt, 3)
    with pytest.raises(FileNotFoundError, match='label file not found'):
        pseudo_label_miou(pseudo, str(tmp_path / 'empty'), 3)
