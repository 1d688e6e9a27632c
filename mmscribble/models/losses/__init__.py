# Copyright (c) mmscribble contributors. All rights reserved.
from .blp_loss import (AnnotationProbabilityLoss, BLPLoss, PartialFocalLoss,
                       annotation_probability_loss, blp_loss,
                       partial_focal_loss)
from .eigenspace_loss import EigenspaceLoss, eigenspace_loss
from .feature_consistency_loss import (FeatureConsistencyLoss,
                                       feature_consistency_loss)
from .partial_cross_entropy_loss import (PartialCrossEntropyLoss,
                                         partial_cross_entropy)
from .soft_entropy_loss import SoftEntropyLoss, soft_entropy_loss
from .segsort_loss import SegSortLoss, segsort_plus_loss
from .label_smooth_ce_loss import (LabelSmoothCrossEntropyLoss,
                                   label_smooth_cross_entropy)
from .distance_entropy_loss import (DistanceEntropyLoss,
                                    distance_entropy_loss)
from .lorm_loss import LoRMLoss, lorm_mse_loss
from .utils import (REDUCTIONS, BaseScribbleLoss, check_choice, check_labels,
                    check_logits_label, reduce_loss, safe_div)
from .soft_self_labeling_loss import (SoftSelfLabelingLoss,
                                      soft_self_labeling_loss)

__all__ = [
    'AnnotationProbabilityLoss', 'BLPLoss', 'PartialFocalLoss',
    'annotation_probability_loss', 'blp_loss', 'partial_focal_loss',
    'EigenspaceLoss', 'eigenspace_loss', 'FeatureConsistencyLoss',
    'feature_consistency_loss', 'PartialCrossEntropyLoss',
    'partial_cross_entropy', 'SoftEntropyLoss', 'soft_entropy_loss',
    'REDUCTIONS', 'BaseScribbleLoss', 'check_choice', 'check_labels',
    'check_logits_label', 'reduce_loss', 'safe_div',
    'SegSortLoss', 'segsort_plus_loss',
    'LabelSmoothCrossEntropyLoss', 'label_smooth_cross_entropy',
    'DistanceEntropyLoss', 'distance_entropy_loss',
    'LoRMLoss', 'lorm_mse_loss',
    'SoftSelfLabelingLoss', 'soft_self_labeling_loss'
]
