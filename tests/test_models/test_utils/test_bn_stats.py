"""kept_bn_stats: an extra forward leaves the running statistics as they
were, and the backward of an earlier forward still works."""
import pytest
import torch
import torch.nn as nn

from mmscribble.models.utils import kept_bn_stats


def make_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2, track_running_stats=False))


def buffers(net):
    return {k: v.clone() for k, v in net.named_buffers()}


def test_restores_every_buffer_and_normalises_with_batch_stats():
    net = make_net().train()
    x, y = torch.randn(2, 3, 5, 5), torch.randn(2, 3, 5, 5) * 3 + 1
    net(x)
    before = buffers(net)
    assert int(before['1.num_batches_tracked']) == 1
    with kept_bn_stats(net):
        out = net(y)
    after = buffers(net)
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)
    # Inside the block the view was normalised with its own batch
    # statistics, exactly as without the guard.
    reference = make_net().train()
    reference.load_state_dict(net.state_dict())
    torch.testing.assert_close(out, reference(y))
    # Without the guard the same forward moves the statistics.
    assert not torch.equal(reference[1].running_mean, before['1.running_mean'])
    assert int(reference[1].num_batches_tracked) == 2


def test_backward_of_an_earlier_forward_still_works():
    net = make_net().train()
    x = torch.randn(2, 3, 5, 5)
    first = net(x)
    with kept_bn_stats(net):
        second = net(x.flip(-1))
    # Restoring the buffers in place would bump the version of tensors
    # the first forward saved, and this backward would raise.
    (first.sum() + second.square().sum()).backward()
    assert net[0].weight.grad is not None


def test_restores_after_an_exception():
    net = make_net().train()
    before = buffers(net)
    with pytest.raises(RuntimeError, match='boom'):
        with kept_bn_stats(net):
            net(torch.randn(2, 3, 5, 5))
            raise RuntimeError('boom')
    assert all(torch.equal(buffers(net)[k], before[k]) for k in before)
