from . import transforms  # noqa: F401
from .scribble_dataset import (PascalContextScribbleDataset,
                               ScribbleDataset, VOCScribbleDataset)

__all__ = [
    'ScribbleDataset', 'VOCScribbleDataset', 'PascalContextScribbleDataset'
]
