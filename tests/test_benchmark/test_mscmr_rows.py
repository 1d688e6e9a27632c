# Copyright (c) mmscribble contributors. All rights reserved.
"""mmscribble/benchmark/mscmr/rows.py: the table's configs share everything
but the method, every method names an existing control row, seeds and the
prepared config (split, schedule rescaled, pseudo-label folders) and its
hash."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmscribble.benchmark.mscmr import rows

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ROWS = rows.discover()
# The table's defaults, as its command line passes them.
OPTS = dict(
    cfg_options=[],
    data_root=None,
    nifti_root=None,
    split='val',
    iters=None,
    threads=None)


def cfg_of(row):
    return Config.fromfile(osp.join(ROOT, row['config']))


def test_rows_baseline_first_and_ids():
    ids = [r['id'] for r in ROWS]
    assert ids[0] == 'pce' and ROWS[0]['baseline']
    variants = ('drop0.3', 'drop0.5', 'shrink0.5', 'shrink1.0')
    assert {'urss', 'blpseg', 'pce-upernet'
            } | {f'{m}-{v}'
                 for m in ('pce', 'urss')
                 for v in variants} <= set(ids)
    by_id = {r['id']: r for r in ROWS}
    for v in variants:
        assert by_id[f'pce-{v}']['section'] == 'robustness'
        for m in ('urss', 'cdsp', 'softsl'):
            assert by_id[f'{m}-{v}']['control'] == f'pce-{v}'
        # CDSP's pseudo-labels come from partial CE on the same labels
        assert by_id[f'cdsp-{v}']['pseudo_labels_of'] == f'pce-{v}'
    # The default comparison: partial CE, each method's main row, the
    # controls on other networks and SPML's first stage; the self-training
    # rules of BLPSeg are variants (3 seeds too, outside the time budget).
    assert {r['id'] for r in ROWS if r['section'] == 'main'} == {
        'pce', 'urss', 'pce-upernet', 'blpseg', 'cdsp', 'softsl',
        'spml-stage1', 'spml'
    }
    for m in ('blpseg-selftrain', 'blpseg-selftrain-add',
              'blpseg-selftrain-balanced'):
        assert by_id[m]['section'] == 'variants'
    assert by_id['urss']['control'] == 'pce'
    assert by_id['blpseg']['control'] == 'pce-upernet'
    assert by_id['pce']['section'] == by_id['urss']['section'] == 'main'
    for m in ('pce', 'urss', 'blpseg', 'cdsp', 'softsl', 'spml'):
        crf = by_id[f'{m}-crf']
        assert (crf['section'], crf['control'], crf['checkpoint_of'],
                crf['pseudo_labels_of']) == ('crf', m, m, None)
        assert cfg_of(crf).model.test_cfg.crf == dict(
            preset='spml' if m == 'spml' else 'blpseg')
    # Sections in order: main, variants, recipe, robustness, crf.
    order = [rows.SECTIONS.index(r['section']) for r in ROWS]
    assert order == sorted(order)


def test_every_control_is_a_row_on_the_same_network():
    by_id = {r['id']: r for r in ROWS}
    for row in ROWS:
        ctl = row['control']
        if ctl is None:
            continue
        assert ctl in by_id, f'{row["id"]}: control {ctl} is not a row'
        if row['section'] == 'crf':
            # A CRF row retests its control's checkpoint: the CRF's effect.
            assert row['checkpoint_of'] == ctl, row['id']
            continue
        assert by_id[ctl]['method'].startswith('partial CE'), ctl
        assert by_id[ctl]['labels'] == row['labels'], (row['id'], ctl)
        # Same backbone and decoder (heads differ only by their loss).
        a, b = cfg_of(row).model, cfg_of(by_id[ctl]).model
        assert a.backbone == b.backbone
        keys = ('in_channels', 'in_index', 'channels')
        assert [a.decode_head.get(k) for k in keys] == [
            b.decode_head.get(k) for k in keys
        ], (f'{row["id"]}: its control {ctl} reads other features '
            f'({keys}); add a pce-<network> config (partial CE on this '
            "row's backbone and decoder, benchmark control=None) and name "
            'it in benchmark.control (docs/benchmarks.md, Adding a method)')


def test_row_seeds():
    main = dict(section='main', seed=0)
    assert rows.row_seeds(main, 3) == [0, 1, 2]
    assert rows.row_seeds(dict(section='robustness', seed=5), 3) == [5]
    assert rows.row_seeds(dict(section='variants', seed=5), 2) == [5, 6]
    assert rows.row_seeds(dict(section='crf', seed=0), 3) == [0]
    # --first-seed K: seeds K .. K+N-1, the same runs (work dir and hash)
    # a plain --seeds K+N run trains, so a split table is reused whole.
    assert rows.row_seeds(main, 1, 2) == [2]
    assert rows.row_seeds(dict(section='main', seed=5), 2, 1) == [6, 7]
    assert rows.row_seeds(dict(section='robustness', seed=5), 3, 1) == [6]
    assert rows.row_seeds(main, None) == [0, 1, 2]  # --seeds not given
    # A preset's count (n_seeds): seeds K .. min(K + N, count) - 1.
    three = dict(section='robustness', seed=5, n_seeds=3)
    assert rows.row_seeds(three, None) == [5, 6, 7]
    assert rows.row_seeds(three, None, 1) == [6, 7]
    assert rows.row_seeds(three, 1, 1) == [6]
    assert rows.row_seeds(three, 5, 2) == [7]
    assert rows.row_seeds(dict(three, n_seeds=1), None, 1) == []


def test_seed_goes_to_randomness_and_changes_the_hash():
    row = ROWS[0]
    opts = OPTS
    a = rows.prepare_config(row, opts, 'w0', seed=0)
    b = rows.prepare_config(row, opts, 'w1', seed=1)
    assert (a.randomness.seed, b.randomness.seed) == (0, 1)
    assert a.randomness.deterministic is False  # the rest kept
    assert rows.config_hash(a) != rows.config_hash(b)
    # work_dir is not part of the hash; the seed and the options are.
    c = rows.prepare_config(row, opts, 'elsewhere', seed=0)
    assert rows.config_hash(a) == rows.config_hash(c)
    d = rows.prepare_config(
        row,
        dict(opts, cfg_options=['train_dataloader.batch_size=2']),
        'w0',
        seed=0)
    assert rows.config_hash(a) != rows.config_hash(d)
    # The run-order hint is not either: a new cost keeps every finished
    # run (the section is, like any other key of the config).
    e = rows.prepare_config(
        row, dict(opts, cfg_options=['benchmark.cost=3.0']), 'w0', seed=0)
    assert e.benchmark.cost == 3.0
    assert rows.config_hash(a) == rows.config_hash(e)
    assert a.benchmark.cost == 1.0  # and the hash does not touch the config


@pytest.mark.parametrize('row', ROWS[1:], ids=lambda r: r['id'])
def test_same_backbone_input_schedule_and_seed(row):
    base, cfg = cfg_of(ROWS[0]), cfg_of(row)
    keys = ('model.backbone', 'model.data_preprocessor', 'optim_wrapper',
            'param_scheduler', 'train_cfg', 'train_dataloader.batch_size',
            'randomness', 'crop_size', 'test_dataloader', 'test_evaluator')
    if row['section'] == 'recipe':
        # A recipe row changes the shared network, data or clean-up on
        # purpose (its own test below); seeds, schedule and scoring stay.
        keys = ('randomness', 'train_cfg', 'param_scheduler',
                'test_dataloader', 'test_evaluator')
    for key in keys:
        assert eval(f'cfg.{key}') == eval(f'base.{key}'), key
    if row['section'] == 'recipe':
        return
    # The same augmentations; methods may add cue transforms only.
    cues = {'SLICBoundaries', 'CDSPDistanceMaps', 'FelzenszwalbSuperpixels'}
    strip = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] not in cues
    ]
    assert strip == base.train_dataloader.dataset.pipeline
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'PhaseSwitchHook' and row['method'] == 'URSS':
            assert hook['phases'][0]['begin'] == cfg.train_cfg.max_iters // 2


def test_recipe_rows_change_only_what_they_name():
    by_id = {r['id']: r for r in ROWS}
    base = cfg_of(by_id['pce'])
    lcc, aug = by_id['pce-lcc'], by_id['pce-cmaug']
    assert (lcc['section'], lcc['control'], lcc['checkpoint_of']) == (
        'recipe', 'pce', 'pce')
    cfg = cfg_of(lcc)
    assert cfg.model.test_cfg == dict(
        mode='whole', largest_component=dict(connectivity=4))
    cfg.model.test_cfg = base.model.test_cfg
    assert cfg.model == base.model
    assert (aug['section'], aug['control'], aug['checkpoint_of']) == (
        'recipe', 'pce', None)
    cfg = cfg_of(aug)
    assert cfg.model == base.model and cfg.optim_wrapper == base.optim_wrapper
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types == [
        'LoadScribbleImageFromFile', 'LoadScribbleAnnotations',
        'ScribbleRandomFlip', 'ScribbleRandomFlip', 'ScribbleRandomRot90',
        'ScribbleRandomRotate', 'ScribbleRandomCrop', 'PackScribbleInputs'
    ]
    pipe = cfg.train_dataloader.dataset.pipeline
    assert [pipe[2].direction, pipe[3].direction] == ['horizontal',
                                                      'vertical']
    assert (pipe[5].degree, pipe[5].prob, pipe[6].crop_size) == (180, 1.0,
                                                                 (161, 161))
    both = by_id['pce-cmaug-lcc']
    assert (both['section'], both['control'], both['checkpoint_of']) == (
        'recipe', 'pce', 'pce-cmaug')
    cfg = cfg_of(both)
    assert cfg.model.test_cfg.largest_component == dict(connectivity=4)
    assert cfg.train_dataloader == cfg_of(aug).train_dataloader
    v3 = by_id['pce-v3plus']
    assert (v3['section'], v3['control']) == ('recipe', 'pce')
    cfg = cfg_of(v3)
    head = cfg.model.decode_head
    assert (head.type, head.in_index, head.c1_in_channels,
            head.loss_decode.type) == ('DepthwiseSeparableASPPHead', 3, 24,
                                       'PartialCrossEntropyLoss')
    assert cfg.model.backbone == base.model.backbone
    assert cfg.train_dataloader == base.train_dataloader


def test_spml_rows_stage_1_then_stage_2_on_its_pseudo_labels(tmp_path):
    by_id = {r['id']: r for r in ROWS}
    one, two = by_id['spml-stage1'], by_id['spml']
    assert (one['section'], one['control'],
            one['pseudo_labels_of']) == ('main', None, None)
    assert (two['section'], two['control'], two['pseudo_labels_of'],
            two['pseudo_label_tool']) == ('main', 'pce', 'spml-stage1', 'spml')
    assert cfg_of(one).model.decode_head.type == 'SPMLHead'
    # Stage 2 is the control's network: only its training labels differ.
    a, b = cfg_of(two), cfg_of(by_id['pce'])
    assert a.model == b.model
    opts = OPTS
    work = str(tmp_path / 'spml' / 'seed0')
    prefix = rows.prepare_config(two, opts, work,
                                 0).train_dataloader.dataset.data_prefix
    assert prefix == dict(
        img_path='img_dir/train',
        seg_map_path=osp.join(osp.abspath(work), 'pseudo_label'))
    # Without a run folder (path checks, hashes): the stage-1 scribbles.
    prefix = rows.prepare_config(two, opts,
                                 '').train_dataloader.dataset.data_prefix
    assert prefix.seg_map_path == 'ann_dir/train'
    # CDSP's pseudo-labels stay an extra map beside the scribbles.
    prefix = rows.prepare_config(by_id['cdsp'], opts,
                                 work).train_dataloader.dataset.data_prefix
    assert prefix.seg_map_path == 'ann_dir/train'
    assert prefix.gt_pseudo_seg == osp.join(osp.abspath(work), 'pseudo_label')


BAD_TOOL_CFG = """_base_ = [{base!r}]
benchmark = dict(method='x', control='pce', {extra})
"""


@pytest.mark.parametrize('extra,match', [
    ("pseudo_labels_of='pce', pseudo_label_tool='crf'", 'pseudo_label_tool'),
    ("pseudo_label_tool='spml'", 'needs pseudo_labels_of'),
    ("cost=0", 'bad_x.py: benchmark.cost must be a positive number'),
    ("cost='long'", 'benchmark.cost'),
    ("cost=True", 'benchmark.cost'),
])
def test_bad_pseudo_label_tool_is_an_error(tmp_path, extra, match):
    pce = osp.join(ROOT, ROWS[0]['config'])
    bad = tmp_path / 'bad_x.py'
    bad.write_text(BAD_TOOL_CFG.format(base=pce, extra=extra))
    with pytest.raises(ValueError, match=match):
        rows.discover([pce, str(bad)])



def test_scale_schedule_keeps_proportions():
    cfg = cfg_of(next(r for r in ROWS if r['id'] == 'urss'))
    rows.scale_schedule(cfg, 20)
    assert cfg.train_cfg.max_iters == 20
    assert [(s['begin'], s['end']) for s in cfg.param_scheduler] == [(0, 2),
                                                                     (2, 20)]
    assert cfg.custom_hooks[0]['phases'][0]['begin'] == 10
    assert cfg.default_hooks.checkpoint.interval == 20
    rows.scale_schedule(cfg, 1)
    assert all(s['end'] > s['begin'] for s in cfg.param_scheduler)


@pytest.mark.parametrize('rid',
                         ['pce', 'spml-stage1', 'blpseg', 'pce-slide-lcc'])
def test_crop_sets_the_random_crop_and_the_pad_size(rid):
    """--crop N: the random crop of the training pipeline, the
    preprocessor's pad size and a sliding-window test's window become
    N x N and nothing else changes; at a config's own size the prepared
    config (and so the hash of its finished runs) is the one without the
    option."""
    row = next(r for r in ROWS if r['id'] == rid)
    plain = rows.prepare_config(row, OPTS, '', seed=0)
    same = rows.prepare_config(row, dict(OPTS, crop=161), '', seed=0)
    assert rows.config_hash(same) == rows.config_hash(plain)
    big = rows.prepare_config(row, dict(OPTS, crop=212), '', seed=0)
    crops = [
        t for t in big.train_dataloader.dataset.pipeline if 'crop_size' in t
    ]
    assert [t['type'] for t in crops] == ['ScribbleRandomCrop']
    assert tuple(crops[0]['crop_size']) == (212, 212)
    assert tuple(big.model.data_preprocessor.size) == (212, 212)
    assert tuple(big.crop_size) == (212, 212)  # what result.json records
    slide = plain.model.test_cfg.mode == 'slide'
    assert big.model.test_cfg.get('crop_size') == ((212, 212)
                                                   if slide else None)
    # The rest of the config is the row's.
    a, b = plain.to_dict(), big.to_dict()
    for d in (a, b):
        d['model']['data_preprocessor'].pop('size')
        d['model']['test_cfg'].pop('crop_size', None)
        d.pop('crop_size')
        for t in d['train_dataloader']['dataset']['pipeline']:
            t.pop('crop_size', None)
    assert a == b


def test_slide_rows_retest_their_source_with_windows_of_the_crop():
    """A -slide row tests its source's checkpoint with 161x161 windows
    (the training crop), and only that (and the clean-up for -lcc);
    its control is partial CE tested the same way on the same network."""
    by_id = {r['id']: r for r in ROWS}
    slides = [r for r in ROWS if '-slide' in r['id']]
    assert {r['id'] for r in slides} >= {
        'pce-slide', 'pce-slide-lcc', 'urss-slide-lcc', 'softsl-slide-lcc',
        'cdsp-slide-lcc', 'spml-stage1-slide-lcc', 'spml-slide-lcc',
        'pce-upernet-slide-lcc', 'blpseg-slide-lcc'
    }
    for row in slides:
        src = row['id'].split('-slide')[0]
        assert row['checkpoint_of'] == src, row['id']
        cfg, base = cfg_of(row), cfg_of(by_id[src])
        lcc = row['id'].endswith('-lcc')
        want = dict(mode='slide', crop_size=(161, 161), stride=(107, 107))
        if lcc:
            want['largest_component'] = dict(connectivity=4)
        assert cfg.model.test_cfg == want, row['id']
        assert tuple(base.crop_size) == (161, 161)
        cfg.model.test_cfg = base.model.test_cfg
        assert cfg.model == base.model, row['id']
        assert cfg.train_dataloader == base.train_dataloader, row['id']
        ctl = row['control']
        if ctl is None:  # a control itself, or no partial CE has its head
            assert src in ('spml-stage1', 'pce-upernet'), row['id']
        elif src == 'pce':
            assert ctl == ('pce-lcc' if lcc else 'pce'), row['id']
        else:
            assert ctl == by_id[by_id[src]['control']]['id'] + '-slide-lcc'


def test_crop_without_a_crop_transform_is_an_error():
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(pipeline=[dict(type='LoadImageFromFile')])),
            model=dict()))
    with pytest.raises(rows.UsageError, match='--crop 212: .*crop_size'):
        rows.set_crop(cfg, 212)


def test_split_is_one_override():
    cfg = cfg_of(ROWS[0])
    cfg.merge_from_dict(rows.split_overrides('train'))
    ds = cfg.test_dataloader.dataset
    assert ds.ann_file == 'splits/train.txt'
    assert ds.data_prefix == dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train')



def test_method_recipe_rows_take_the_pce_recipe_as_it_is():
    """urss-cmaug = urss with pce-cmaug's pipeline (+ the SLIC cue); the
    -lcc rows only add the clean-up to the checkpoint they test, and each
    is compared with partial CE under the same recipe."""
    by_id = {r['id']: r for r in ROWS}
    aug = by_id['urss-cmaug']
    assert (aug['section'], aug['control'], aug['checkpoint_of']) == (
        'recipe', 'pce-cmaug', None)
    cfg, urss = cfg_of(aug), cfg_of(by_id['urss'])
    assert cfg.model == urss.model
    assert cfg.custom_hooks == urss.custom_hooks
    pipe = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] != 'SLICBoundaries'
    ]
    assert pipe == cfg_of(by_id['pce-cmaug']).train_dataloader.dataset.pipeline
    assert cfg.train_dataloader.dataset.pipeline[2].type == 'SLICBoundaries'
    for rid, src, control in (('urss-cmaug-lcc', 'urss-cmaug',
                               'pce-cmaug-lcc'), ('urss-lcc', 'urss',
                                                  'pce-lcc'),
                              ('softsl-lcc', 'softsl', 'pce-lcc')):
        row = by_id[rid]
        assert (row['section'], row['control'],
                row['checkpoint_of']) == ('recipe', control, src)
        cfg, base = cfg_of(row), cfg_of(by_id[src])
        assert cfg.model.test_cfg.largest_component == dict(connectivity=4)
        cfg.model.test_cfg = base.model.test_cfg
        assert cfg.model == base.model
        assert cfg.train_dataloader == base.train_dataloader


def test_spml_stride4_rows_change_only_the_embedding_stride():
    by_id = {r['id']: r for r in ROWS}
    one, two = by_id['spml-s4-stage1'], by_id['spml-s4']
    assert (one['section'], one['control']) == ('variants', None)
    assert (two['section'], two['control'], two['pseudo_labels_of'],
            two['pseudo_label_tool']) == ('variants', 'pce', 'spml-s4-stage1',
                                          'spml')
    a, b = cfg_of(one), cfg_of(by_id['spml-stage1'])
    # MobileNetV2's out_indices (1, 2, 4, 6): 24 channels at stride 4
    assert (a.model.decode_head.in_channels,
            a.model.decode_head.in_index) == ([24, 320], [0, 3])
    a.model.decode_head.update(in_channels=[32, 320], in_index=[1, 3])
    assert a.model == b.model
    assert a.train_dataloader == b.train_dataloader
    assert cfg_of(two).model == cfg_of(by_id['spml']).model
