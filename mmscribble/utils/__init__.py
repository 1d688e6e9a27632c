from .checkpoint import mmengine_checkpoint_globals, mmengine_safe_globals
from .config_paths import config_path, configs_root
from .dist_utils import (replace_sync_bn, setup_cpu_distributed,
                         teardown_distributed)
# Importing pretrained adds the mmscribble:// checkpoint scheme (a new
# prefix; nothing of mmengine's is replaced).
from .pretrained import (mobilenet_v2_weights, packaged_mobilenet_v2_weights,
                         torchvision_mobilenet_v2_to_mmseg)

__all__ = [
    'mmengine_checkpoint_globals', 'mmengine_safe_globals', 'config_path',
    'configs_root', 'replace_sync_bn',
    'setup_cpu_distributed', 'teardown_distributed', 'mobilenet_v2_weights',
    'packaged_mobilenet_v2_weights', 'torchvision_mobilenet_v2_to_mmseg'
]
