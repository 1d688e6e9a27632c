from .deeplabv2_head import ASPPClassifier, DeepLabV2Head
from .scribble_head import BaseScribbleHead
