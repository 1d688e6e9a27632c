# Copyright (c) mmscribble contributors. All rights reserved.
"""Pictures for analysis: drawing helpers, palettes, and per-method maps
(``blpseg_maps``, ``cdsp_maps``, ``softsl_maps``, ``spml_panels``,
``urss_maps``, imported from their modules)."""
from .drawing import colorize, jet, load_image, overlay, save_rgb, tile
from .legend import legend_panel, with_legend
from .palette import (hashed_palette, pca_colours, random_colours,
                      wrapped_palette)

__all__ = [
    'colorize', 'jet', 'load_image', 'overlay', 'save_rgb', 'tile',
    'legend_panel', 'with_legend',
    'hashed_palette', 'pca_colours', 'random_colours', 'wrapped_palette'
]
