from .builder import PostProcessChain, build_postprocessor
from .dense_crf import PRESETS, DenseCRFPostProcessor, dense_crf
from .largest_component import (LargestComponentPostProcessor,
                                keep_largest_components)

__all__ = [
    'PRESETS', 'DenseCRFPostProcessor', 'LargestComponentPostProcessor',
    'PostProcessChain', 'build_postprocessor', 'dense_crf',
    'keep_largest_components'
]
