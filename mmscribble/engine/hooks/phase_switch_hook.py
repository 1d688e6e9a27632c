"""One hook for every delayed activation: set model attributes at an iter."""
from typing import Any, Dict, List, Optional, Sequence

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

_MISSING = object()


def _resolve(root, path: str):
    """Return (parent, last name) of a dotted path; digits index lists."""
    parts = path.split('.')
    obj = root
    for i, name in enumerate(parts[:-1]):
        nxt = obj[int(name)] if name.isdigit() else getattr(
            obj, name, _MISSING)
        if nxt is _MISSING:
            raise AttributeError(
                f'cannot resolve {path!r}: '
                f'{".".join(parts[:i]) or "model"} has no attribute {name!r}')
        obj = nxt
    return obj, parts[-1]


def set_by_path(root, path: str, value: Any) -> Any:
    """Set ``root.<path> = value`` and return the old value."""
    parent, name = _resolve(root, path)
    if name.isdigit():
        old = parent[int(name)]
        parent[int(name)] = value
        return old
    if not hasattr(parent, name):
        raise AttributeError(
            f'cannot set {path!r}: {type(parent).__name__} has no attribute '
            f'{name!r} (a typo would otherwise silently do nothing)')
    old = getattr(parent, name)
    setattr(parent, name, value)
    return old


def get_by_path(root, path: str) -> Any:
    parent, name = _resolve(root, path)
    if name.isdigit():
        return parent[int(name)]
    if not hasattr(parent, name):
        raise AttributeError(f'cannot resolve {path!r}: '
                             f'{type(parent).__name__} has no attribute '
                             f'{name!r}')
    return getattr(parent, name)


@HOOKS.register_module()
class PhaseSwitchHook(Hook):
    """Switch loss terms or head attributes at given training iterations.

    Each phase is ``dict(begin=ITER, set={'dotted.attr.path': value, ...})``.
    Paths are resolved on the unwrapped model (``runner.model.module`` under
    DDP), so ``'decode_head.loss_eigen.loss_weight'`` or
    ``'decode_head.self_training'`` work in single- and multi-GPU runs alike.
    Digits index ``ModuleList``s: ``'decode_head.loss_decode.1.loss_weight'``.

    A phase is applied before the first iteration ``>= begin``, including
    right after resuming from a checkpoint saved past ``begin`` (the trigger
    is ``>=`` with a per-phase applied flag, never ``==``, as mmdet's
    ``YOLOXModeSwitchHook`` learned). Every switch is logged with the value
    read back from the model and, in a distributed run, the rank: each
    process switches its own replica (with ``log_level='DEBUG'`` mmengine
    writes one log file per rank, where every rank's switch can be seen).

    Under DDP a phase must not start using parameters that were unused
    before (or set ``find_unused_parameters=True``): switching a loss weight
    or a head flag that reuses existing parameters is always safe.

    Args:
        phases (list[dict]): ``begin`` (int, iteration) and ``set`` (dict).
    """

    priority = 'NORMAL'

    def __init__(self, phases: Sequence[Dict]):
        if not phases:
            raise ValueError('PhaseSwitchHook needs at least one phase')
        self.phases: List[Dict] = []
        for i, phase in enumerate(phases):
            if not isinstance(phase, dict) or set(phase) != {'begin', 'set'}:
                raise ValueError(
                    f"phase {i} must be dict(begin=ITER, set={{...}}), got "
                    f'{phase!r}')
            if int(phase['begin']) < 0 or not phase['set']:
                raise ValueError(f'phase {i} needs begin >= 0 and a '
                                 f'non-empty set, got {phase!r}')
            self.phases.append(
                dict(begin=int(phase['begin']), set=dict(phase['set'])))
        self.phases.sort(key=lambda p: p['begin'])
        self._applied = [False] * len(self.phases)

    def _model(self, runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        # Fail before the first iteration on a path that does not exist.
        model = self._model(runner)
        for phase in self.phases:
            for path in phase['set']:
                get_by_path(model, path)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        for i, phase in enumerate(self.phases):
            if self._applied[i] or runner.iter < phase['begin']:
                continue
            model = self._model(runner)
            rank, world_size = get_dist_info()
            where = f', rank {rank} of {world_size}' if world_size > 1 else ''
            for path, value in phase['set'].items():
                old = set_by_path(model, path, value)
                # Read back rather than echo ``value``: the line then shows
                # what the replica that trains actually holds.
                new = get_by_path(model, path)
                runner.logger.info(
                    f'PhaseSwitchHook: iter {runner.iter}: {path} '
                    f'{old!r} -> {new!r} (phase {i}, begin '
                    f'{phase["begin"]}{where})')
            self._applied[i] = True
