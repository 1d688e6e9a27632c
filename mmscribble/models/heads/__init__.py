from .scribble_head import BaseScribbleHead, ScribbleHeadMixin
from .deeplabv2_head import ASPPClassifier, DeepLabV2Head
from .urss_head import URSSHead
from .blpseg_head import BLPSegHead
# Moved to models/losses and models/utils; still importable from here for
# code written before (tools/analysis_tools/blpseg_visualize.py).
from ..losses import feature_consistency_loss
from ..utils import self_training_target

__all__ = [
    'ASPPClassifier', 'BLPSegHead', 'BaseScribbleHead', 'DeepLabV2Head',
    'ScribbleHeadMixin', 'URSSHead', 'feature_consistency_loss',
    'self_training_target'
]
