from .partial_cross_entropy_loss import (PartialCrossEntropyLoss,
                                         partial_cross_entropy)
from .eigenspace_loss import EigenspaceLoss, eigenspace_loss
from .soft_entropy_loss import SoftEntropyLoss, soft_entropy_loss
from .blp_loss import (AnnotationProbabilityLoss, BLPLoss, PartialFocalLoss,
                       annotation_probability_loss, blp_loss,
                       partial_focal_loss)
