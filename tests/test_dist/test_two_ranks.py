"""Two processes (gloo, CPU) against one: every method's training step.

One spawn of 2 ranks runs every check in sequence (process start and
imports cost more than all the checks together). Each rank trains on one
image under DDP; rank 0 compares with one process training on both.

- pce, URSS, BLPSeg, CDSP, soft self-labeling: every loss term is a mean
  over its rank's pixels; with equal pixel counts per image (the cases of
  ``method_cases``) the mean of the two ranks' means is the global mean,
  so DDP's averaged gradients equal the one-process gradients.
- Unequal counts (pce): DDP weighs a pixel of rank ``r`` by
  ``1 / (2 n_r)``, one process by ``1 / (n_0 + n_1)``: the averaged
  gradient is the gradient of ``(l_0 + l_1) / 2``, not of the global mean
  ``(n_0 l_0 + n_1 l_1) / (n_0 + n_1)`` (mmseg's per-rank mean, by design).
- SPML: each rank's contrast pool (and memory bank) holds the other
  rank's segments; the losses equal the one-process losses; other ranks'
  prototypes carry no gradient (``all_gather``), so only the classifier's
  gradients are compared.
- Phase switches (soft self-labeling's pretraining end, BLPSeg's
  self-training start) happen on the same iteration on both ranks.
"""
import datetime
import logging
import os
import socket
from types import SimpleNamespace

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from method_cases import METHODS, batch, build

WORLD = 2


def _grads(model):
    return {
        n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p))
        for n, p in model.named_parameters()
    }


def _ddp_step(method, rank, **kw):
    model = build(method)
    for k, v in kw.items():
        setattr(model.head, k, v)
    ddp = DDP(model, find_unused_parameters=True)
    img, samples = batch([rank])
    ddp(img, samples).backward()
    return model


def _mean_over_ranks(losses):
    out = {}
    for k, v in losses.items():
        t = v.detach().clone()
        dist.all_reduce(t)
        out[k] = t / WORLD
    return out


def _assert_close(a, b, what, rtol=1e-4, atol=1e-6):
    for k in b:
        assert torch.allclose(a[k], b[k], rtol=rtol, atol=atol), \
            (what, k, a[k], b[k])


def check_method(method, rank):
    model = _ddp_step(method, rank)
    mean = _mean_over_ranks(
        {k: v for k, v in model.last.items() if 'loss' in k})
    if rank == 0:
        ref = build(method)
        if method == 'spml':  # one process: no collective on rank 0 alone
            ref.head.gather_across_ranks = False
        ref(*batch([0, 1])).backward()
        ref_losses = {k: v.detach() for k, v in ref.last.items()
                      if 'loss' in k}
        _assert_close(mean, ref_losses, method)
        got, want = _grads(model), _grads(ref)
        if method == 'spml':  # only the classifier's gradient is global
            want = {k: v for k, v in want.items() if 'conv_seg' in k}
        _assert_close(got, want, method)
    dist.barrier()


def check_unequal_counts(rank):
    lens = (18, 6)
    model = build('pce')
    # The head reads one level: the backbone's last two stages are unused.
    ddp = DDP(model, find_unused_parameters=True)
    img, samples = batch([rank], lens[rank])
    ddp(img, samples).backward()
    losses = [torch.zeros(()) for _ in range(WORLD)]
    dist.all_gather(losses, model.last['loss_pce'].detach())
    if rank == 0:
        ref = build('pce')
        glob = ref(*batch([0, 1], lens))
        n0, n1 = 2 * lens[0], 2 * lens[1]  # two strokes per image
        l0, l1 = losses
        assert torch.allclose(glob, (n0 * l0 + n1 * l1) / (n0 + n1))
        assert not torch.allclose(glob, (l0 + l1) / 2)
        glob.backward()
        global_grads = _grads(ref)
        per_rank = build('pce')
        for i in range(WORLD):
            img, samples = batch([i], lens[i])
            (per_rank(img, samples) / WORLD).backward()
        _assert_close(_grads(model), _grads(per_rank), 'pce, unequal')
        # ... which is not the gradient of the global mean.
        key = 'head.conv_seg.branches.0.weight'
        assert not torch.allclose(_grads(model)[key], global_grads[key])
    dist.barrier()


def check_spml_pool(rank):
    """Rank 0 scribbles class 1, rank 1 class 2: each rank's pool holds
    the other's class, and both keep the same bank."""
    for gather in (True, False):
        model = _ddp_step('spml', rank, gather_across_ranks=gather)
        proto, label, _ = model.head.memory[-1]
        classes = set(label.tolist())
        if not gather:
            assert (2 if rank == 0 else 1) not in classes, classes
            continue
        assert {1, 2} <= classes, classes
        rows = torch.cat([proto, label[:, None].to(proto.dtype)], 1)
        sizes = [None] * WORLD
        dist.all_gather_object(sizes, rows.shape)
        assert sizes[0] == sizes[1], sizes
        others = [torch.empty_like(rows) for _ in range(WORLD)]
        dist.all_gather(others, rows)
        assert torch.equal(others[0], others[1])
    dist.barrier()


def check_phase_switch(rank):
    from mmscribble.engine.hooks import PhaseSwitchHook
    for method, path, key in (('softsl', 'head.self_labeling',
                               'loss_self_label'),
                              ('blpseg', 'head.self_training',
                               'loss_self')):
        model = build(method)
        if method == 'softsl':
            model.head.self_labeling = False
        ddp = DDP(model, find_unused_parameters=True)
        hook = PhaseSwitchHook([dict(begin=1, set={path: True})])
        runner = SimpleNamespace(
            model=ddp, iter=0, logger=logging.getLogger('switch'))
        hook.before_train(runner)
        seen = []
        for it in range(3):
            runner.iter = it
            hook.before_train_iter(runner, it)
            ddp(*batch([rank])).backward()
            seen.append(any(key in k for k in model.last))
        runs = [None] * WORLD
        dist.all_gather_object(runs, seen)
        assert runs[0] == runs[1] == [False, True, True], (method, runs)
    dist.barrier()


def _worker(rank, port):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import mmscribble  # noqa: F401
    from mmscribble.utils.dist_utils import teardown_distributed
    # A rank that fails leaves the other in a collective: time out.
    dist.init_process_group(
        'gloo', rank=rank, world_size=WORLD,
        timeout=datetime.timedelta(seconds=60))
    try:
        for method in METHODS:
            check_method(method, rank)
        check_unequal_counts(rank)
        check_spml_pool(rank)
        check_phase_switch(rank)
    finally:
        teardown_distributed()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_ranks_match_one_process_for_every_method():
    mp.spawn(_worker, args=(_free_port(), ), nprocs=WORLD, join=True)
