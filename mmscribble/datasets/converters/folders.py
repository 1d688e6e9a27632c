"""Run a converter over a folder: its files in sorted order, one label PNG
written per file, with optional progress.
"""
import os
import os.path as osp
from typing import Callable, Iterable, List, Optional, Sequence, TypeVar

import numpy as np

from ..label_io import write_label_png

T = TypeVar('T')
Progress = Optional[Callable[[Iterable], Iterable]]


def list_files(src_dir: str, suffix: str) -> List[str]:
    """Names of the files in ``src_dir`` that end with ``suffix``, sorted.

    The ending is matched without regard to case (``a.PNG`` ends with
    ``.png``).

    Args:
        src_dir (str): The folder.
        suffix (str): The lower-case ending, e.g. ``'.png'``.

    Returns:
        list[str]: File names (not paths), sorted.

    Raises:
        FileNotFoundError: The folder does not exist or holds no such file.
    """
    if not osp.isdir(src_dir):
        raise FileNotFoundError(f'directory not found: {src_dir}')
    names = sorted(
        f for f in os.listdir(src_dir) if f.lower().endswith(suffix))
    if not names:
        raise FileNotFoundError(f'no *{suffix} file in {src_dir}')
    return names


def iterate(items: Sequence[T], progress: Progress = None) -> Iterable[T]:
    """``items`` wrapped by ``progress`` (e.g. ``tqdm``) when given."""
    return progress(items) if progress is not None else items


def convert_folder(src_dir: str,
                   suffix: str,
                   out_dir: str,
                   convert: Callable[[str, str], np.ndarray],
                   progress: Progress = None) -> List[str]:
    """Write ``out_dir/<stem>.png`` for every ``<stem><suffix>`` of a folder.

    Files are converted in sorted order; the first error stops the run.

    Args:
        src_dir (str): Input folder.
        suffix (str): Ending of the input files, e.g. ``'.xml'``.
        out_dir (str): Output folder (created).
        convert (callable): ``convert(path, stem)`` returns the ``(H, W)``
            uint8 label map of the file at ``path``.
        progress (callable, optional): Wraps the file list, e.g. ``tqdm``.

    Returns:
        list[str]: The stems written, sorted.
    """
    stems = []
    for name in iterate(list_files(src_dir, suffix), progress):
        stem = osp.splitext(name)[0]
        label = convert(osp.join(src_dir, name), stem)
        write_label_png(label, osp.join(out_dir, stem + '.png'))
        stems.append(stem)
    return stems
