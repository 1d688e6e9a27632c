from .dense_crf import (PRESETS, DenseCRFPostProcessor, build_postprocessor,
                        dense_crf)

__all__ = [
    'PRESETS', 'DenseCRFPostProcessor', 'build_postprocessor', 'dense_crf'
]
