from .scribble_head import BaseScribbleHead, ScribbleHeadMixin
from .deeplabv2_head import ASPPClassifier, DeepLabV2Head
from .urss_head import URSSHead
from .blpseg_head import BLPSegHead
from .spml_head import SPMLHead
from .soft_self_labeling_head import (SoftSelfLabelingHead,
                                      SoftSelfLabelingV2Head)
from .cdsp_head import CDSPHead, CDSPLossMixin, CDSPSepASPPHead
from .cdsp_cam_head import CDSPCAMHead

__all__ = [
    'ASPPClassifier', 'BLPSegHead', 'BaseScribbleHead', 'DeepLabV2Head',
    'ScribbleHeadMixin', 'URSSHead', 'SPMLHead',
    'SoftSelfLabelingHead', 'SoftSelfLabelingV2Head',
    'CDSPHead', 'CDSPLossMixin', 'CDSPSepASPPHead', 'CDSPCAMHead'
]
