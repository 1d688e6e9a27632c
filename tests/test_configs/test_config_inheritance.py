"""The base configs are mmseg's plus the listed changes, and an R101 config
is its R50 sibling with only the depth and the ImageNet weights changed."""
import glob
import os.path as osp

import mmseg
import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = osp.join(ROOT, 'configs', '_base_')
MMSEG_BASE = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_')


def inherits_mmseg(name):
    """The file takes mmseg's base of the same name as its only base."""
    text = open(osp.join(BASE, name)).read()
    return f"_base_ = 'mmseg::_base_/{name}'" in text


def resolved(path):
    return Config.fromfile(path, import_custom_modules=False).to_dict()


def differences(a, b, path=''):
    """Dotted paths where two resolved configs differ. ``_scope_`` is left
    out: mmengine adds it to the dicts a config takes from an ``mmseg::``
    base, and it names the scope every config here runs in anyway."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = {}
        for k in (set(a) | set(b)) - {'_scope_'}:
            out.update(
                differences(
                    a.get(k, '<absent>'), b.get(k, '<absent>'),
                    f'{path}.{k}' if path else k))
        return out
    if (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
            and len(a) == len(b)):
        out = {}
        for i, (x, y) in enumerate(zip(a, b)):
            out.update(differences(x, y, f'{path}[{i}]'))
        return out
    return {} if a == b else {path: (a, b)}


PARTIAL_CE = dict(type='PartialCrossEntropyLoss', loss_weight=1.0)
# What the model bases change in mmseg's: segmentor and preprocessor, the
# weights moved from model.pretrained to backbone.init_cfg, VOC's 21
# classes, and partial cross-entropy (same weights) instead of mmseg's CE.
SCRIBBLE_MODEL = {
    'model.type': ('EncoderDecoder', 'ScribbleEncoderDecoder'),
    'model.data_preprocessor.type':
    ('SegDataPreProcessor', 'ScribbleDataPreProcessor'),
    'data_preprocessor.type':
    ('SegDataPreProcessor', 'ScribbleDataPreProcessor'),
    'model.pretrained': ('open-mmlab://resnet50_v1c', None),
    'model.backbone.init_cfg':
    ('<absent>',
     dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
}
for head in ('decode_head', 'auxiliary_head'):
    SCRIBBLE_MODEL.update({
        f'model.{head}.num_classes': (19, 21),
        f'model.{head}.loss_decode.type':
        ('CrossEntropyLoss', 'PartialCrossEntropyLoss'),
        f'model.{head}.loss_decode.use_sigmoid': (False, '<absent>'),
    })


@pytest.mark.parametrize(
    'name', ['models/upernet_r50.py', 'models/deeplabv3plus_r50-d8.py'])
def test_model_bases_are_mmseg_for_scribbles(name):
    assert inherits_mmseg(name)
    assert differences(
        resolved(osp.join(MMSEG_BASE, name)),
        resolved(osp.join(BASE, name))) == SCRIBBLE_MODEL


def test_deeplabv2_shares_the_deeplabv3plus_backbone():
    v2 = resolved(osp.join(BASE, 'models/deeplabv2_r50-d8.py'))
    v3p = resolved(osp.join(BASE, 'models/deeplabv3plus_r50-d8.py'))
    diff = differences(v3p, v2)
    assert not [
        k for k in diff
        if not k.startswith(('model.decode_head', 'model.auxiliary_head'))
    ]
    assert v2['model']['auxiliary_head'] is None
    assert v2['model']['decode_head']['type'] == 'DeepLabV2Head'
    assert v2['model']['decode_head']['loss_decode'] == PARTIAL_CE


def test_runtime_is_mmseg_plus_the_plugin():
    assert inherits_mmseg('default_runtime.py')
    diff = differences(
        resolved(osp.join(MMSEG_BASE, 'default_runtime.py')),
        resolved(osp.join(BASE, 'default_runtime.py')))
    assert diff == {
        'custom_imports':
        ('<absent>', dict(imports=['mmscribble'], allow_failed_imports=False))
    }


def test_schedule_20k_is_mmseg_and_hooks_match_it():
    assert inherits_mmseg('schedules/schedule_20k.py')
    mmseg_20k = resolved(osp.join(MMSEG_BASE, 'schedules/schedule_20k.py'))
    assert differences(mmseg_20k,
                       resolved(osp.join(BASE,
                                         'schedules/schedule_20k.py'))) == {}
    # The one copy of mmseg (its hooks and loops, for configs that write
    # their own schedule) stays equal to the original.
    hooks = resolved(osp.join(BASE, 'schedules/iter_based_hooks.py'))
    assert set(hooks) == {'default_hooks', 'val_cfg', 'test_cfg'}
    for key in hooks:
        assert differences(mmseg_20k[key], hooks[key]) == {}, key


R101 = sorted(
    p for p in glob.glob(
        osp.join(ROOT, 'configs', '**', '*r101*.py'), recursive=True)
    if osp.isfile(p.replace('r101', 'r50')))


def test_r101_configs_have_r50_siblings():
    names = [osp.relpath(p, ROOT) for p in R101]
    for group in ('baseline', 'urss', 'blpseg'):
        assert any(n.startswith(f'configs/{group}/') for n in names), group


@pytest.mark.parametrize(
    'path', R101, ids=lambda p: osp.relpath(p, osp.join(ROOT, 'configs')))
def test_r101_changes_depth_and_weights_only(path):
    diff = differences(resolved(path.replace('r101', 'r50')), resolved(path))
    assert diff == {
        'model.backbone.depth': (50, 101),
        'model.backbone.init_cfg.checkpoint':
        ('open-mmlab://resnet50_v1c', 'open-mmlab://resnet101_v1c'),
    }
