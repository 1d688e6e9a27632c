"""Input checks, window radii and the distance kernel shared by the window
engine and its dense reference (mmscribble/models/layers/window_common.py).
"""
import pytest
import torch

from mmscribble.models.layers.window_common import (
    check_4d, check_aggregate_inputs, check_valid_mask, compute_dtype,
    offset_log_kernel, window_radii)


def test_window_radii_and_log_kernel():
    assert window_radii(1.0, None, 20, 20) == (3, 3)
    assert window_radii(1.2, None, 20, 20) == (4, 4)  # ceil(3.6)
    assert window_radii(None, 5, 20, 20) == (2, 2)
    assert window_radii(6.0, None, 4, 30) == (3, 18)  # clipped to the map
    k = offset_log_kernel(2.0, 1, 2, torch.float64, torch.device('cpu'))
    assert k.shape == (3, 5)
    assert k[1, 2].item() == 0.0
    assert k[0, 0].item() == pytest.approx(-(1 + 4) / 8)
    assert offset_log_kernel(None, 1, 1, torch.float64, 'cpu') is None


def test_window_radii_tensor_sigma_and_bad_window():
    assert window_radii(torch.tensor(0.5), None, 9, 9) == (2, 2)
    for bad in (4, 0, True, 2.0):
        with pytest.raises(ValueError, match='window'):
            window_radii(1.0, bad, 9, 9)


def test_log_kernel_of_a_tensor_sigma_keeps_the_graph():
    sigma = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    k = offset_log_kernel(sigma, 1, 1, torch.float64, 'cpu')
    (grad, ) = torch.autograd.grad(k.sum(), sigma)
    # d/ds sum -(dy^2 + dx^2) / (2 s^2) = sum (dy^2 + dx^2) / s^3 = 12.
    assert grad.item() == pytest.approx(12.0)


def test_compute_dtype():
    half = torch.zeros(1, dtype=torch.float16)
    double = torch.zeros(1, dtype=torch.float64)
    assert compute_dtype(half) == torch.float32
    assert compute_dtype(None, half) == torch.float32
    assert compute_dtype(half, double) == torch.float64


def test_checks_name_the_argument():
    x = torch.zeros(2, 3, 4, 5)
    check_4d('x', x)
    with pytest.raises(TypeError, match='img must be a Tensor'):
        check_4d('img', x.numpy())
    with pytest.raises(ValueError, match=r'img must be \(N, C, h, w\)'):
        check_4d('img', x[0])
    with pytest.raises(TypeError, match='img must be floating point'):
        check_4d('img', x.long())
    check_valid_mask(None, 2, 4, 5)
    check_valid_mask(torch.ones(2, 4, 5), 2, 4, 5)
    with pytest.raises(ValueError, match=r'valid_mask must be \(N, h, w\)'):
        check_valid_mask(torch.ones(2, 4), 2, 4, 5)
    with pytest.raises(ValueError, match='logits'):
        check_aggregate_inputs(x, x[:, :, :3], 1.0, None, 'logits')
    with pytest.raises(ValueError, match='feat and sigma cannot both'):
        check_aggregate_inputs(None, x, None, None)
    with pytest.raises(ValueError, match='sigma must be a positive number'):
        check_aggregate_inputs(x, x, -1.0, None)
