# Copyright (c) mmscribble contributors. All rights reserved.
"""The table's (row, seed) runs.

Every run trains and tests in its own freshly spawned process
(:func:`run_row`, no state shared between runs), through mmengine's
``Runner``: ``runner.train()`` (timed; model building and weight loading
excluded) then ``runner.test()`` on the split; no validation during
training. A test-only row (``checkpoint_of``) tests the checkpoint of its
source row's run of the same seed instead, and shows that run's training
time. A pseudo-labelled row (``pseudo_labels_of``) first writes its
pseudo-labels from its source's checkpoint into
``WORK_DIR/<row>/seed<s>/pseudo_label`` with the source row's
``pseudo_label_tool`` script; that step's time is not in the row's
training time, except for SPML's stage 2, whose time counts the stage-1
training, the pseudo-label step and its own training.
"""
import os
import os.path as osp
import platform
import subprocess
import sys
import threading
import time
import traceback

from ..harness import run_in_subprocess
from .files import read_json, write_json
from .report import fmt, raw_results
from .rows import PSEUDO_LABEL_TOOLS, ROOT, prepare_config, row_seeds, run_key
from .schedule import run_scheduled


def run_env(device, threads=None):
    """Environment of a run's own processes: ``--device cpu`` hides the
    GPUs (before CUDA is initialised, so the Runner picks the CPU), and
    ``threads`` sets their OpenMP threads."""
    env = dict(os.environ)
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    if threads:
        env['OMP_NUM_THREADS'] = str(threads)
    return env


def device_name():
    """``'cpu'`` or ``'cuda: <name of GPU 0>'``, as mmengine chooses."""
    import torch
    from mmengine.device import get_device
    dev = get_device()
    return f'cuda: {torch.cuda.get_device_name(0)}' if dev == 'cuda' \
        else dev


def machine_info(split, device='auto'):
    """The machine and the command, for the table's notes."""
    import torch
    return dict(
        split=split,
        # The runs hide GPUs themselves for --device cpu (run_env).
        device='cpu' if device == 'cpu' else device_name(),
        machine=platform.processor() or platform.machine(),
        cpus=os.cpu_count(),
        torch=torch.__version__,
        load=' '.join(f'{x:.1f}' for x in os.getloadavg()),
        date=time.strftime('%Y-%m-%d %H:%M'))


def run_row(row, args, queue):
    """Train + test one config in this (fresh) process; report to queue."""
    try:
        # A spawned process of this tool only, before torch sees a GPU.
        os.environ.update(run_env(args.get('device', 'auto')))
        import torch
        if args['threads']:
            torch.set_num_threads(args['threads'])
        from mmengine.runner import Runner

        import mmscribble  # noqa: F401  (registers the components)
        from mmscribble.utils import mmengine_safe_globals
        cfg = prepare_config(row, args, row['work_dir'], row['run_seed'])
        source = row.get('source_result')
        if source is not None:
            # Tested from the checkpoint of the row it post-processes.
            cfg.load_from = row['source_checkpoint']
            runner = Runner.from_cfg(cfg)
            with mmengine_safe_globals():
                metrics = runner.test()
            train_s, cpu_s = source['train_s'], source['cpu_s']
            iter_times = [source['s_per_iter']]
            extra = source_time_parts(source)
        else:
            extra = {}
            runner = Runner.from_cfg(cfg)
            start, cpu_start = time.perf_counter(), time.process_time()
            runner.train()
            train_s = time.perf_counter() - start
            cpu_s = time.process_time() - cpu_start
            metrics = runner.test()
            iter_times = runner.message_hub.get_scalar('train/time').data[0]
        per_volume, distances = volume_scores(
            runner.test_loop.evaluator.metrics)
        queue.put(
            dict(
                seed=row['run_seed'],
                per_volume=per_volume,
                per_volume_distances=distances,
                train_s=train_s,
                cpu_s=cpu_s,
                s_per_iter=float(sorted(iter_times)[len(iter_times) // 2]),
                iters=int(cfg.train_cfg.max_iters),
                batch=int(cfg.train_dataloader.batch_size),
                crop=list(cfg.get('crop_size', [])),
                threads=torch.get_num_threads(),
                device=device_name(),
                metrics={
                    k: float(v)
                    for k, v in metrics.items()
                },
                **extra))
    except Exception:
        queue.put(dict(error=traceback.format_exc()))


def source_time_parts(source):
    """What a test-only run keeps of its source's time besides
    ``train_s``: the stage-1 training and pseudo-label step of an SPML
    stage 2 (``source_train_s``, ``pseudo_label_s``), so a row that
    retests stage 2 shows the same train time as stage 2's row."""
    return {
        k: source[k]
        for k in ('source_train_s', 'pseudo_label_s') if k in source
    }


def volume_scores(metrics):
    """Per-volume scores of the test evaluator's metrics.

    Args:
        metrics (list): the evaluator's metrics; a
            :class:`~mmscribble.evaluation.VolumeDiceMetric` has
            ``per_volume`` and ``per_volume_distances`` after testing.

    Returns:
        tuple[dict, dict]: ``({volume: {structure: dice}}, {volume:
        {'HD95_<structure>': mm, 'ASD_<structure>': mm}})``, values as
        floats (NaN where undefined); the second is empty for a metric
        without surface distances.
    """
    dice, dist = {}, {}
    for metric in metrics:
        dice.update(getattr(metric, 'per_volume', None) or {})
        dist.update(getattr(metric, 'per_volume_distances', None) or {})
    return tuple({
        vol: {
            k: float(x)
            for k, x in scores.items()
        }
        for vol, scores in d.items()
    } for d in (dice, dist))


def measure(row, args):
    """Run :func:`run_row` in a spawned process; return its result."""
    return run_in_subprocess(run_row, row, args)


def plan_runs(rows, all_rows, opts, work_dir, seeds, first_seed=0, reuse=True):
    """The (row, seed) runs to do; finished ones are reused instead.

    A (row, seed) whose ``result.json`` in ``work_dir/<row>/seed<s>`` has
    the same :func:`~mmscribble.benchmark.mscmr.rows.run_key` and metrics
    is appended to the row's ``runs`` (and printed as reused) unless
    ``reuse`` is False. One whose ``result.json`` cannot be read (cut
    short by a crash) is not finished: it is trained again, with a
    warning naming the file. Sets ``runs`` of every row; a skipped row has
    none.

    Returns:
        list[tuple]: ``(row, run, key, result file)`` per run to do; ``run``
        is the row with ``run_seed`` and ``work_dir``.
    """
    todo = []
    for r in rows:
        r['runs'] = []
        if 'skipped' in r:
            continue
        for seed in row_seeds(r, seeds, first_seed):
            run_dir = osp.join(work_dir, r['id'], f'seed{seed}')
            key = run_key(r, all_rows, opts, seed)
            done_file = osp.join(run_dir, 'result.json')
            if reuse and osp.isfile(done_file):
                old = _read_result(done_file, f'{r["id"]} seed {seed}')
                if old.get('key') == key and 'metrics' in old:
                    r['runs'].append(old)
                    print(
                        f'{r["id"]} seed {seed}: reused {done_file}',
                        flush=True)
                    continue
            todo.append((r, dict(r, run_seed=seed,
                                 work_dir=run_dir), key, done_file))
    return todo


def _read_result(path, run):
    """A finished run's ``result.json``, or ``{}`` (with a warning naming
    the file) when it cannot be read: the run is trained again and its
    new result replaces the file."""
    try:
        return read_json(path)
    except ValueError as err:
        print(
            f'WARNING: {err}. Training {run} again.',
            file=sys.stderr,
            flush=True)
        return {}


class TableRuns:
    """The runs of one table command, each on a thread of its own process.

    Args:
        rows (list[dict]): the rows run (their ``runs`` get the results).
        all_rows (dict): every row of the table by id (the sources).
        opts (dict): the table's options (see
            :func:`~mmscribble.benchmark.mscmr.rows.prepare_config`) and
            ``threads``, ``device``.
        work_dir (str): the table's folder (``<row>/seed<s>`` per run).
        info (dict): the machine (``wall_s`` is added).
        out_json (str): the raw results, rewritten after every run.
    """

    def __init__(self, rows, all_rows, opts, work_dir, info, out_json):
        self.rows, self.all_rows, self.opts = rows, all_rows, opts
        self.work_dir, self.info, self.out_json = work_dir, info, out_json
        self.lock = threading.Lock()
        self.failed = []

    def run(self, todo, jobs):
        """Run ``todo`` (of :func:`plan_runs`) on ``jobs`` threads, each
        run once the run it reads (pseudo-labels or checkpoint of another
        row, same seed) has ended, if that one is in ``todo``.

        Returns:
            list[str]: the runs that failed.
        """
        start = time.perf_counter()

        def task(i, item):
            r, run, _, _ = item
            src = r['checkpoint_of'] or r['pseudo_labels_of']
            return dict(
                name=(r['id'], run['run_seed']),
                after=(src, run['run_seed']) if src else None,
                cost=r['cost'],
                args=(i, len(todo), item))

        run_scheduled([task(*a) for a in enumerate(todo, start=1)], jobs,
                      lambda t: self.one(*t['args']))
        if todo:
            self.info['wall_s'] = time.perf_counter() - start
        for r in self.rows:
            r['runs'].sort(key=lambda res: res.get('seed', 0))
        return self.failed

    def one(self, i, total, item):
        """Run one (row, seed), write its ``result.json`` and report it."""
        r, run, key, done_file = item
        tag = f'[{i}/{total}] {r["id"]} seed {run["run_seed"]}'
        print(f'{tag}: {r["config"]}', flush=True)
        try:
            res = self.measure_run(r, run, key)
        except Exception:  # noqa: B902 - reported as this run's failure
            # Not lost in the thread pool until the other runs end: the
            # run fails now, with its traceback, and the table goes on.
            res = dict(error='the table tool failed on this run:\n' +
                       traceback.format_exc())
        res['key'] = key
        res.setdefault('seed', run['run_seed'])
        os.makedirs(run['work_dir'], exist_ok=True)
        write_json(done_file, res)
        with self.lock:
            r['runs'].append(res)
            if 'error' in res:
                self.failed.append(tag)
                print(
                    f'{tag} FAILED:\n{res["error"]}',
                    file=sys.stderr,
                    flush=True)
            else:
                print(
                    f'{tag}: mean Dice '
                    f'{fmt(res["metrics"].get("vol/mDice3D"), ".3f")}, '
                    f'train {res["train_s"]:.0f} s '
                    f'({res["s_per_iter"]:.2f} s/iter)',
                    flush=True)
            write_json(self.out_json, raw_results(self.rows, self.info))

    def measure_run(self, r, run, key):
        """The result of one run: its source's checkpoint or pseudo-labels
        first where it reads them."""
        if r['checkpoint_of']:
            run, why = self.source_of(run, key, r['checkpoint_of'])
            return dict(error=why) if why else measure(run, self.opts)
        if not r['pseudo_labels_of']:
            return measure(run, self.opts)
        src, why = self.source_of(run, key, r['pseudo_labels_of'])
        if why:
            return dict(error=why)
        why, label_s = self.write_pseudo_labels(run, src)
        if why:
            return dict(error=why)
        res = measure(run, self.opts)
        res['pseudo_label_s'] = label_s
        res['source_train_s'] = src['source_result']['train_s']
        return res

    def source_of(self, run, key, src_id):
        """The finished result and checkpoint of row ``src_id`` (same
        seed) that a test-only or pseudo-labelled run reads.

        Returns:
            tuple: ``(run with source_result and source_checkpoint, None)``
            or ``(None, why not)``.
        """
        src = osp.join(self.work_dir, src_id, f'seed{run["run_seed"]}')
        done = osp.join(src, 'result.json')
        try:
            res = read_json(done) if osp.isfile(done) else {}
        except ValueError as err:
            return None, (f'{err}; it is the run of row {src_id} seed '
                          f'{run["run_seed"]} that this row reads: train '
                          f'that row too (--only {src_id})')
        last = osp.join(src, 'last_checkpoint')
        if res.get('key', {}).get('config') != key['source'] or \
                'metrics' not in res or not osp.isfile(last):
            return None, (f'row {src_id} seed {run["run_seed"]} has no '
                          f'finished run of its current config in {src}: '
                          'run it first')
        with open(last) as f:
            ckpt = f.read().strip()
        # mmengine writes the absolute path: a run folder moved or copied
        # in from another work folder or machine (a table split over
        # machines) keeps its checkpoint beside last_checkpoint.
        moved = osp.join(src, osp.basename(ckpt))
        if not osp.isfile(ckpt) and osp.isfile(moved):
            ckpt = moved
        return dict(run, source_result=res, source_checkpoint=ckpt), None

    def write_pseudo_labels(self, run, src):
        """Pseudo-labels of ``src``'s checkpoint on the training split
        into the run's ``pseudo_label`` folder: its predictions with the
        scribbles kept (``segmentor``) or SPML's random walk (``spml``).

        Returns:
            tuple: ``(error or None, seconds)``.
        """
        # Parsing resolves mmseg:: bases through pkg_resources, which is
        # not thread-safe (two --jobs threads here at once raised
        # "TypeError: Expected str, Requirement, or Distribution").
        with self.lock:
            cfg = prepare_config(self.all_rows[run['pseudo_labels_of']],
                                 self.opts, '', run['run_seed'])
        os.makedirs(run['work_dir'], exist_ok=True)
        cfg_file = osp.join(run['work_dir'], 'pseudo_label_source.py')
        cfg.dump(cfg_file)
        tool = run['pseudo_label_tool']
        cmd = [
            sys.executable, PSEUDO_LABEL_TOOLS[tool], cfg_file,
            src['source_checkpoint'],
            osp.join(run['work_dir'], 'pseudo_label')
        ] + (['--scribble-override'] if tool == 'segmentor' else [])
        env = run_env(self.opts['device'], self.opts['threads'])
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            return (f'pseudo-labels from row {run["pseudo_labels_of"]} '
                    f'failed: {" ".join(cmd)}\n{proc.stdout[-2000:]}'
                    f'{proc.stderr[-2000:]}'), seconds
        return None, seconds
