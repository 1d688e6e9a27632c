"""config_path: a config outside configs/ inherits a shipped one."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmscribble.utils import config_path, configs_root

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = ('baseline/pce_deeplabv3plus_r50-d8_4xb4-20k_voc12aug-scribble-'
        '512x512.py')
USER = """_base_ = {base}
classes = ('background', 'road', 'building')
model = dict(
    decode_head=dict(num_classes=len(classes)),
    auxiliary_head=dict(num_classes=len(classes)))
"""


def test_source_checkout_resolves_to_the_repository_configs():
    # (an editable install links mmscribble/.mim/configs to configs/)
    real = osp.realpath
    assert real(configs_root()) == real(osp.join(ROOT, 'configs'))
    assert real(config_path(BASE)) == real(osp.join(ROOT, 'configs', BASE))


@pytest.mark.parametrize('form', ['absolute', 'import'])
def test_user_config_in_tmp_inherits_the_readme_base(form, tmp_path):
    base = repr(config_path(BASE)) if form == 'absolute' else (
        "__import__('mmscribble.utils.config_paths', fromlist=['x'])"
        f'.config_path({BASE!r})')
    path = tmp_path / 'my_config.py'
    path.write_text(USER.format(base=base))
    cfg = Config.fromfile(str(path))
    assert cfg.model.decode_head.num_classes == 3
    assert cfg.model.decode_head.type == 'DepthwiseSeparableASPPHead'
    assert cfg.train_cfg.max_iters == 20000
    # ... where the README's relative form fails outside configs/
    path.write_text(USER.format(base=repr('../' + BASE)))
    with pytest.raises(FileNotFoundError):
        Config.fromfile(str(path))


def test_installed_package_prefers_its_mim_folder(tmp_path):
    package = tmp_path / 'site-packages' / 'mmscribble'
    os.makedirs(package / '.mim' / 'configs' / 'baseline')
    (package / '.mim' / 'configs' / 'baseline' / 'x.py').write_text('a = 1')
    assert config_path('baseline/x.py', str(package)) == str(
        package / '.mim' / 'configs' / 'baseline' / 'x.py')


def test_bad_names_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config 'baseline/nope"):
        config_path('baseline/nope.py')
    with pytest.raises(ValueError, match='leaves'):
        config_path('../setup.py')
    with pytest.raises(ValueError, match='relative to configs/'):
        config_path(osp.join(ROOT, 'configs', BASE))
    with pytest.raises(FileNotFoundError, match='configs not found'):
        config_path('baseline/x.py', str(tmp_path / 'mmscribble'))
