"""mmscribble: scribble-supervised semantic segmentation on mmseg 1.x.

Importing the package registers every component in mmseg's registries
(``mmseg.registry.MODELS``, ``DATASETS``, ``TRANSFORMS``, ``HOOKS``), so a
config only needs ``custom_imports = dict(imports=['mmscribble'])``.
"""
from .version import __version__  # noqa: F401
from . import datasets, engine, evaluation, models  # noqa: F401,E402
from .utils import allow_mmengine_checkpoints  # noqa: E402

allow_mmengine_checkpoints()
