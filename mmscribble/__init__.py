"""mmscribble: scribble-supervised semantic segmentation on mmseg 1.x.

Importing the package registers every component in mmseg's registries
(``mmseg.registry.MODELS``, ``DATASETS``, ``TRANSFORMS``, ``HOOKS``) and
adds the ``mmscribble://`` checkpoint scheme, so a config only needs
``custom_imports = dict(imports=['mmscribble'])``. It changes nothing else:
mmengine's checkpoint loaders and torch's safe-unpickler allowlist are left
as they are (see :func:`mmscribble.utils.mmengine_safe_globals` for loading
mmengine checkpoints).
"""
from .version import __version__  # noqa: F401
from . import datasets, engine, evaluation, models, utils  # noqa: F401,E402
