from . import hooks  # noqa: F401
from .optim_wrappers import AutocastOptimWrapper

__all__ = ['AutocastOptimWrapper']
