"""The dense reference of the windowed softmax aggregation
(mmscribble/models/layers/window_affinity_dense.py), by hand."""
import math

import pytest
import torch

from mmscribble.models.layers import window_affinity
from mmscribble.models.layers.window_affinity_dense import (
    dense_softmax_aggregate, dense_window_softmax,
    dense_window_softmax_aggregate)


def test_reexported_by_the_engine_module():
    assert window_affinity.dense_window_softmax is dense_window_softmax
    assert window_affinity.dense_window_softmax_aggregate is \
        dense_window_softmax_aggregate


def test_distance_only_affinity_by_hand():
    # A 1 x 3 map without features: A[i, j] = softmax_i(-(i - j)^2 / 2).
    feat = torch.zeros(1, 0, 1, 3, dtype=torch.float64)
    a = dense_window_softmax(feat, 1.0)[0]
    e1, e4 = math.exp(-0.5), math.exp(-2.0)
    expected = torch.tensor([[1, e1, e4], [e1, 1, e1], [e4, e1, 1]],
                            dtype=torch.float64)
    expected = expected / expected.sum(0, keepdim=True)
    torch.testing.assert_close(a, expected, rtol=0, atol=1e-15)
    # A window of 3 cuts the pairs two pixels apart.
    a3 = dense_window_softmax(feat, 1.0, window=3)[0]
    assert a3[0, 2].item() == 0 and a3[2, 0].item() == 0
    torch.testing.assert_close(a3[:, 1], expected[:, 1])
    torch.testing.assert_close(a3.sum(0), torch.ones(3, dtype=torch.float64))


def test_feature_affinity_and_valid_mask_by_hand():
    # Features f = (0, 1, 2) on a 1 x 3 map, no distance kernel: A[i, j]
    # = softmax_i(f_i f_j); pixel 2 is padding: no other pixel's key.
    feat = torch.tensor([0., 1., 2.], dtype=torch.float64).view(1, 1, 1, 3)
    valid = torch.tensor([[[1, 1, 0]]])
    a = dense_window_softmax(feat, None, window=3, valid_mask=valid)[0]
    col1 = torch.tensor([1., math.e], dtype=torch.float64)
    torch.testing.assert_close(a[:2, 1], col1 / col1.sum())
    assert a[2, 1].item() == 0
    # A padded query still reads the valid keys of its window (pixel 0 is
    # two pixels away, outside it): softmax(2, 4) over pixels 1, 2.
    col2 = torch.tensor([0., math.e**2, math.e**4], dtype=torch.float64)
    torch.testing.assert_close(a[:, 2], col2 / col2.sum())


def test_aggregate_is_values_times_affinity():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    values = torch.randn(2, 2, 4, 5, generator=g, dtype=torch.float64)
    a = dense_window_softmax(feat, 1.5, 3)
    expected = torch.bmm(values.flatten(2), a).view(2, 2, 4, 5)
    torch.testing.assert_close(
        dense_window_softmax_aggregate(feat, values, 1.5, 3),
        expected,
        rtol=0,
        atol=0)
    torch.testing.assert_close(
        dense_softmax_aggregate(feat, values, 1.5, 3, None, 'logits'),
        expected,
        rtol=0,
        atol=0)


def test_dense_input_checks_name_the_argument():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 4, 5, 6, generator=g, dtype=torch.float64)
    values = torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    with pytest.raises(ValueError, match='values'):
        dense_window_softmax_aggregate(feat, values[0], 1.0)
    with pytest.raises(ValueError, match='valid_mask'):
        dense_window_softmax(feat, 1.0, valid_mask=torch.ones(5))
    with pytest.raises(ValueError, match='logits'):
        dense_softmax_aggregate(feat, values[0], 1.0, None, None, 'logits')
    with pytest.raises(ValueError, match='uniform'):
        dense_window_softmax(feat[:, :0], None)
