"""mmscribble.evaluation.confusion: counts and scores worked by hand."""
import numpy as np
import pytest

from mmscribble.evaluation.confusion import (class_scores, confusion_matrix,
                                             row_shares)


def test_counts_and_scores_by_hand():
    gt = np.array([[0, 0, 1, 1], [2, 2, 255, 1]])
    pred = np.array([[0, 1, 1, 255], [2, 0, 0, 7]])
    conf = confusion_matrix(pred, gt, 3)
    # rows gt 0 / 1 / 2, columns pred 0 / 1 / 2 / none; gt 255 not counted,
    # pred 255 and 7 (outside [0, 3)) in the last column
    np.testing.assert_array_equal(
        conf, [[1, 1, 0, 0], [0, 1, 0, 2], [1, 0, 1, 0]])
    s = class_scores(conf)
    # class 0: tp 1, gt 2, pred 2 -> IoU 1/3, Dice 1/2
    # class 1: tp 1, gt 3 (two abstained), pred 2 -> IoU 1/4, Dice 2/5
    # class 2: tp 1, gt 2, pred 1 -> IoU 1/2, Dice 2/3
    np.testing.assert_allclose(s['iou'], [1 / 3, 1 / 4, 1 / 2])
    np.testing.assert_allclose(s['dice'], [1 / 2, 2 / 5, 2 / 3])
    np.testing.assert_allclose(s['precision'], [1 / 2, 1 / 2, 1])
    np.testing.assert_allclose(s['recall'], [1 / 2, 1 / 3, 1 / 2])
    np.testing.assert_allclose(s['gt_area'], [2 / 7, 3 / 7, 2 / 7])
    np.testing.assert_allclose(s['pred_area'], [2 / 7, 2 / 7, 1 / 7])


def test_square_matrix_and_absent_class():
    # a (K, K) matrix (no abstention column) is accepted; a class in
    # neither map has NaN scores, not 0
    conf = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    s = class_scores(conf)
    np.testing.assert_allclose(s['iou'][:2], [3 / 4, 2 / 3])
    assert np.isnan(s['iou'][2]) and np.isnan(s['precision'][2])
    assert s['gt_area'][2] == 0


def test_pooled_equals_the_sum_of_images():
    rng = np.random.default_rng(0)
    gts = [rng.integers(0, 4, (5, 6)) for _ in range(3)]
    preds = [rng.integers(0, 4, (5, 6)) for _ in range(3)]
    pooled = confusion_matrix(np.concatenate(preds), np.concatenate(gts), 4)
    summed = sum(confusion_matrix(p, g, 4) for p, g in zip(preds, gts))
    np.testing.assert_array_equal(pooled, summed)
    assert pooled.sum() == 90


def test_bad_input_names_the_problem():
    gt = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match='size'):
        confusion_matrix(gt[:1], gt, 2)
    with pytest.raises(ValueError, match='class id 5 outside'):
        confusion_matrix(gt, gt + 5, 2)
    with pytest.raises(ValueError, match='num_classes'):
        confusion_matrix(gt, gt, 0)
    with pytest.raises(ValueError, match='conf must be'):
        class_scores(np.zeros((2, 4)))


def test_row_shares_by_hand():
    # gt 0 (4 pixels): predicted 0, 1, 1 and none -> 1/4, 2/4, 0
    conf = np.array([[1, 2, 0, 1], [0, 3, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(row_shares(conf, 0), [0.25, 0.5, 0])
    np.testing.assert_allclose(row_shares(conf, 1), [0, 1, 0])
    np.testing.assert_array_equal(row_shares(conf, 2), [0, 0, 0])
    with pytest.raises(ValueError, match='class 3'):
        row_shares(conf, 3)
