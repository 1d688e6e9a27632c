# Copyright (c) mmscribble contributors. All rights reserved.
"""Where mmscribble's configs are, for configs that live elsewhere.

A config inherits by a path relative to its own file
(``_base_ = '../baseline/...'``) or by ``package::path``; mmengine 0.10.7
accepts the latter only for the OpenMMLab packages it lists
(``mmseg::``, ``mmdet::``, ...), not for a plugin. A user's config outside
this repository's ``configs/`` therefore inherits by absolute path, which
:func:`config_path` gives::

    # my_config.py, anywhere
    _base_ = __import__('mmscribble.utils.config_paths', fromlist=['x'])\\
        .config_path('baseline/pce_deeplabv3plus_r50-d8_4xb4-20k_'
                     'voc12aug-scribble-512x512.py')

(mmengine evaluates ``_base_`` alone, without the config's imports, hence
``__import__``), or with the path it prints pasted in::

    python -c "from mmscribble.utils import config_path; \\
        print(config_path('baseline/pce_..._512x512.py'))"

An installed mmscribble carries the configs in ``mmscribble/.mim/configs``
(``setup.py``); a source checkout (``pip install -e .``) has them in
``configs/`` beside the package.
"""
import os.path as osp
from typing import Optional

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def configs_root(package_dir: Optional[str] = None) -> str:
    """The folder of mmscribble's configs.

    Args:
        package_dir (str, optional): The ``mmscribble`` package folder;
            default: the imported one.

    Returns:
        str: ``<package>/.mim/configs`` when it exists (an installed
        package), else ``<package>/../configs`` (a source checkout).

    Raises:
        FileNotFoundError: Neither exists.
    """
    package_dir = package_dir or PACKAGE_DIR
    candidates = (osp.join(package_dir, '.mim', 'configs'),
                  osp.join(osp.dirname(package_dir), 'configs'))
    for path in candidates:
        if osp.isdir(path):
            return osp.abspath(path)
    raise FileNotFoundError(
        f'mmscribble configs not found: neither {candidates[0]} (installed '
        f'package) nor {candidates[1]} (source checkout) exists')


def config_path(name: str, package_dir: Optional[str] = None) -> str:
    """Absolute path of the shipped config ``name``.

    Args:
        name (str): Path under ``configs/``, e.g. ``'urss/urss_r50.py'``.
        package_dir (str, optional): See :func:`configs_root`.

    Returns:
        str: The absolute path, which exists.

    Raises:
        ValueError: ``name`` is absolute or leaves ``configs/``.
        FileNotFoundError: No such config.
    """
    root = configs_root(package_dir)
    if osp.isabs(name):
        raise ValueError(f'config name must be relative to configs/, got '
                         f'{name!r}')
    path = osp.normpath(osp.join(root, name))
    if not path.startswith(root + osp.sep):
        raise ValueError(f'config name {name!r} leaves {root}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'no config {name!r} in {root}')
    return path
