from .checkpoint import allow_mmengine_checkpoints
from .dist_utils import (replace_sync_bn, setup_cpu_distributed,
                         teardown_distributed)

__all__ = [
    'allow_mmengine_checkpoints', 'replace_sync_bn', 'setup_cpu_distributed',
    'teardown_distributed'
]
from .pretrained import (packaged_mobilenet_v2_weights,  # noqa: F401
                         torchvision_mobilenet_v2_to_mmseg)
