# Copyright (c) mmscribble contributors. All rights reserved.
"""Split files (``splits/<name>.txt``, one stem per line) from a folder.

:func:`make_splits` shuffles the stems of a folder with a seeded generator
(``numpy.random.default_rng(seed)``) and cuts them by ratio: split ``k``
gets ``floor`` of its share and the remainders go, one each, to the splits
with the largest fractional parts (ties: the earlier split), so the sizes
sum to the number of stems. Every stem lands in exactly one split; the
stems of a split are written sorted. The same folder and seed give the
same files on any machine.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .folders import list_files


def split_sizes(n: int, ratios: Sequence[float]) -> List[int]:
    """Sizes of ``len(ratios)`` splits of ``n`` items (largest remainder).

    Raises:
        ValueError: A ratio is negative or they do not sum to 1.
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    if ratios.size == 0 or (ratios < 0).any() or \
            not np.isclose(ratios.sum(), 1.0, atol=1e-6):
        raise ValueError(f'split ratios must be >= 0 and sum to 1, got '
                         f'{ratios.tolist()}')
    share = ratios * n
    sizes = np.floor(share + 1e-9).astype(np.int64)
    order = np.argsort(-(share - sizes), kind='stable')
    sizes[order[:n - sizes.sum()]] += 1
    return sizes.tolist()


def make_splits(
        stems: Sequence[str],
        ratios: Dict[str, float],
        seed: int = 0,
        fixed: Optional[Dict[str,
                             Sequence[str]]] = None) -> Dict[str, List[str]]:
    """Assign stems to named splits by ratio, seeded.

    Args:
        stems (Sequence[str]): Distinct stems.
        ratios (dict): ``{split name: ratio}``, ratios summing to 1, in
            the order the splits are filled; may be empty when ``fixed``
            takes every stem.
        seed (int): Shuffle seed.
        fixed (dict, optional): ``{split name: stems}`` assigned as
            listed (e.g. a published test list); the other stems are
            split by ``ratios``.

    Returns:
        dict: ``{split name: sorted stems}``.

    Raises:
        ValueError: Repeated stems, a listed stem not among ``stems`` or
            in two lists, or stems left without a ratio split.
    """
    stems = sorted(stems)
    if len(set(stems)) != len(stems):
        raise ValueError('stems must be distinct')
    out = {}
    for name, listed in (fixed or {}).items():
        taken = set().union(*out.values()) if out else set()
        unknown = sorted(set(listed) - set(stems))
        if unknown or taken & set(listed):
            raise ValueError(
                f'split {name!r} lists stems that are not in the folder or '
                f'already in another split: '
                f'{(unknown or sorted(taken & set(listed)))[:5]}')
        out[name] = sorted(set(listed))
    taken = set().union(*out.values()) if out else set()
    stems = [s for s in stems if s not in taken]
    if not ratios:
        if stems:
            raise ValueError(f'{len(stems)} stems are in no list and no '
                             f'ratio is given, e.g. {stems[0]}')
        return out
    sizes = split_sizes(len(stems), list(ratios.values()))
    perm = np.random.default_rng(seed).permutation(len(stems))
    start = 0
    for name, size in zip(ratios, sizes):
        out[name] = sorted(stems[i] for i in perm[start:start + size])
        start += size
    return out


def folder_stems(folder: str, suffix: str = '.png') -> List[str]:
    """Stems of the files of ``folder`` ending in ``suffix``, sorted."""
    return [
        osp.splitext(name)[0] for name in list_files(folder, suffix.lower())
    ]


def write_splits(splits: Dict[str, List[str]], out_dir: str) -> List[str]:
    """Write ``out_dir/<name>.txt`` per split; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, stems in splits.items():
        path = osp.join(out_dir, f'{name}.txt')
        with open(path, 'w') as f:
            f.write(''.join(f'{s}\n' for s in stems))
        paths.append(path)
    return paths
