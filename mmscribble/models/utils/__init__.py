from .bn import kept_bn_stats
from .feature_mask import cell_centre_mask, infer_feature_stride
from .numeric import safe_div
from .pseudo_label import self_training_target
from .spml_segments import (Segments, segment_prototypes, spml_relations,
                            split_segments)

__all__ = [
    'cell_centre_mask', 'infer_feature_stride', 'kept_bn_stats', 'safe_div',
    'self_training_target', 'Segments', 'segment_prototypes', 'spml_relations',
    'split_segments'
]
