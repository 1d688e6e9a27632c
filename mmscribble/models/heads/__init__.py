from .deeplabv2_head import ASPPClassifier, DeepLabV2Head
from .scribble_head import BaseScribbleHead
from .urss_head import URSSHead, feature_consistency_loss  # noqa: F401,E402
from .blpseg_head import BLPSegHead, self_training_target  # noqa: F401,E402
