"""model-index.yml and configs/<method>/metafile.yml: what mim reads.

``mim`` (openmim) is not installed in the test environment, so these
checks stand in for ``mim search mmscribble``: every file the index
imports exists and is listed, every model names an existing config and a
known collection, and the MSCMR results are the README table's."""
import glob
import os.path as osp
import re

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = ('baseline', 'urss', 'blpseg', 'cdsp', 'softsl', 'spml')


def load(path):
    with open(osp.join(ROOT, path), encoding='utf-8') as f:
        return yaml.safe_load(f)


def metafiles():
    return load('model-index.yml')['Import']


def test_index_imports_every_method_metafile():
    listed = metafiles()
    assert sorted(listed) == sorted(
        f'configs/{m}/metafile.yml' for m in METHODS)
    on_disk = sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml')))
    assert on_disk == sorted(listed)


@pytest.mark.parametrize('path',
                         [f'configs/{m}/metafile.yml' for m in METHODS])
def test_metafile_entries(path):
    meta = load(path)
    method = path.split('/')[1]
    collections = {c['Name']: c for c in meta['Collections']}
    assert len(collections) == 1
    for c in collections.values():
        assert osp.isfile(osp.join(ROOT, c['README']))
        if method != 'baseline':
            assert c['Paper']['Title']
    names = [m['Name'] for m in meta['Models']]
    assert len(names) == len(set(names))
    for model in meta['Models']:
        assert model['In Collection'] in collections
        config = osp.join(ROOT, model['Config'])
        assert osp.isfile(config), model['Config']
        assert model['Name'] == osp.splitext(osp.basename(config))[0]
        md = model['Metadata']
        assert md['Training Data'] and md['Architecture']
        assert isinstance(md['Batch Size'], int) and md['Batch Size'] > 0
        for result in model.get('Results', []):
            assert result['Task'] == 'Semantic Segmentation'
            for key, v in result['Metrics'].items():
                assert isinstance(v, float), (key, v)
                # percentages, except the surface distances in mm
                assert 0 <= v <= (1e3 if key.endswith('(mm)') else 100), key
        assert 'Weights' not in model  # none released yet
    # every main config of the method's folder is indexed
    shipped = {
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(ROOT, 'configs', method, '*_*_*.py'))
    }
    assert shipped <= set(names)


def readme_mscmr_dice():
    """``{method folder: mean Dice}`` of each method's first row in the
    README results table (a mean over seeds, or one seed's ``(1)``)."""
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    found = {}
    for m in re.finditer(
            r'^\| [^|]+ \| \[configs/(\w+)\]\([^)]*\) \| [^|]* \| '
            r'\**([0-9.]+)(?: ± | \(1\))', text, re.M):
        found.setdefault(m.group(1), float(m.group(2)))
    return found


def test_mscmr_results_are_the_readme_table():
    readme = readme_mscmr_dice()
    assert sorted(readme) == sorted(METHODS)
    for method, dice in readme.items():
        models = load(f'configs/{method}/metafile.yml')['Models']
        first = next(m for m in models if m.get('Results'))
        assert 'mscmr' in first['Config']
        assert first['Results'][0]['Metrics']['mDice'] == pytest.approx(
            100 * dice)
