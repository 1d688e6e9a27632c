"""Drawing helpers and :func:`load_segmentor`, kept importable from here.

The drawing helpers live in :mod:`mmscribble.visualization`, the model
loading in :mod:`mmscribble.apis`.
"""
from mmscribble.apis.inference import load_segmentor
from mmscribble.visualization.drawing import (colorize, jet, load_image,
                                              overlay, save_rgb, tile)

__all__ = [
    'colorize', 'jet', 'load_image', 'load_segmentor', 'overlay', 'save_rgb',
    'tile'
]
