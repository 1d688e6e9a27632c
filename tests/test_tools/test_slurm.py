"""tools/slurm_train.sh and tools/slurm_test.sh against a stand-in srun.

The stand-in is first on the PATH and records its argv (NUL-separated, so
an argument with spaces stays one) and PYTHONPATH; the recorded python
command is then parsed by the real tools/train.py / tools/test.py."""
import os
import os.path as osp
import runpy
import stat
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

FAKE_SRUN = """#!/usr/bin/env bash
printf '%s\\0' "$@" > "$SRUN_RECORD"
printf '%s' "$PYTHONPATH" > "$SRUN_RECORD.pythonpath"
exit "${SRUN_RC:-0}"
"""

SRUN_KNOBS = ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS', 'PYTHON',
              'SRUN_RC')


def run_script(tmp_path, script, args, **knobs):
    """Run ``tools/<script> *args`` with the stand-in srun; return the
    process and srun's argv (None when srun was not called)."""
    bindir = tmp_path / 'bin'
    bindir.mkdir(exist_ok=True)
    srun = bindir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(srun.stat().st_mode | stat.S_IXUSR)
    record = tmp_path / 'srun_argv'
    env = {k: v for k, v in os.environ.items() if k not in SRUN_KNOBS}
    env.update(
        PATH=f'{bindir}{os.pathsep}{os.environ["PATH"]}',
        SRUN_RECORD=str(record),
        **knobs)
    proc = subprocess.run(
        ['bash', f'tools/{script}'] + args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60)
    if not record.exists():
        return proc, None
    argv = record.read_text().split('\0')
    assert argv[-1] == ''  # printf ends every argument with NUL
    return proc, argv[:-1]


def parse_with(tool, argv, monkeypatch):
    """Parse the python command srun would run with the tool's parser."""
    # Another run name than __main__: the script defines, and does not run.
    module = runpy.run_path(
        osp.join(ROOT, 'tools', f'{tool}.py'),
        run_name=f'mmscribble_tools_{tool}')
    script = argv.index('-u') + 1
    assert argv[script] == f'tools/{tool}.py'
    # parse_args sets LOCAL_RANK when it is missing; keep it test-local.
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr(sys, 'argv', argv[script:])
    return module['parse_args']()


def test_slurm_train_passes_everything_to_srun(tmp_path, monkeypatch):
    proc, argv = run_script(
        tmp_path,
        'slurm_train.sh', [
            'gpu-part', 'urss-voc', 'configs/urss/urss_r101.py',
            'work dirs/urss', '--resume', '--cfg-options', 'randomness.seed=3',
            'train_dataloader.batch_size=4'
        ],
        GPUS='16',
        GPUS_PER_NODE='8',
        CPUS_PER_TASK='3',
        SRUN_ARGS='--quotatype=auto --time=2:00:00',
        PYTHON='python3')
    assert proc.returncode == 0, proc.stderr
    assert argv == [
        '-p', 'gpu-part', '--job-name=urss-voc', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=3', '--kill-on-bad-exit=1',
        '--quotatype=auto', '--time=2:00:00', 'python3', '-u',
        'tools/train.py', 'configs/urss/urss_r101.py', '--launcher=slurm',
        '--work-dir=work dirs/urss', '--resume', '--cfg-options',
        'randomness.seed=3', 'train_dataloader.batch_size=4'
    ]
    # The repository is on the PYTHONPATH of every task (mmscribble and
    # the configs' custom_imports resolve without an install).
    pythonpath = (tmp_path / 'srun_argv.pythonpath').read_text()
    first = pythonpath.split(os.pathsep)[0]
    assert osp.abspath(osp.join(ROOT, first)) == ROOT
    args = parse_with('train', argv, monkeypatch)
    assert args.config == 'configs/urss/urss_r101.py'
    assert args.launcher == 'slurm'
    assert args.work_dir == 'work dirs/urss'
    assert args.resume is True
    assert args.cfg_options == {
        'randomness.seed': 3,
        'train_dataloader.batch_size': 4
    }


def test_slurm_train_defaults_and_mmseg_1x_form(tmp_path, monkeypatch):
    # mmseg 1.x has no WORK_DIR argument: options right after CONFIG.
    proc, argv = run_script(tmp_path, 'slurm_train.sh',
                            ['dev', 'pce', 'cfg.py', '--amp'])
    assert proc.returncode == 0, proc.stderr
    assert argv == [
        '-p', 'dev', '--job-name=pce', '--gres=gpu:4', '--ntasks=4',
        '--ntasks-per-node=4', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        'python', '-u', 'tools/train.py', 'cfg.py', '--launcher=slurm', '--amp'
    ]
    args = parse_with('train', argv, monkeypatch)
    assert args.launcher == 'slurm' and args.amp and args.work_dir is None
    proc, argv = run_script(tmp_path, 'slurm_train.sh', ['dev', 'pce', 'c'])
    assert proc.returncode == 0, proc.stderr
    assert argv[-4:] == ['-u', 'tools/train.py', 'c', '--launcher=slurm']


def test_slurm_test_passes_everything_to_srun(tmp_path, monkeypatch):
    proc, argv = run_script(
        tmp_path,
        'slurm_test.sh', [
            'gpu-part', 'eval', 'cfg.py', 'work/iter_80000.pth', '--work-dir',
            'work', '--out', 'pred dir', '--tta'
        ],
        GPUS='2',
        GPUS_PER_NODE='2',
        CPUS_PER_TASK='4')
    assert proc.returncode == 0, proc.stderr
    assert argv == [
        '-p', 'gpu-part', '--job-name=eval', '--gres=gpu:2', '--ntasks=2',
        '--ntasks-per-node=2', '--cpus-per-task=4', '--kill-on-bad-exit=1',
        'python', '-u', 'tools/test.py', 'cfg.py', 'work/iter_80000.pth',
        '--launcher=slurm', '--work-dir', 'work', '--out', 'pred dir', '--tta'
    ]
    args = parse_with('test', argv, monkeypatch)
    assert (args.config, args.checkpoint) == ('cfg.py', 'work/iter_80000.pth')
    assert args.launcher == 'slurm'
    assert (args.work_dir, args.out, args.tta) == ('work', 'pred dir', True)


@pytest.mark.parametrize('script,args', [
    ('slurm_train.sh', ['dev', 'job']),
    ('slurm_test.sh', ['dev', 'job', 'cfg.py']),
    ('slurm_test.sh', ['dev', 'job', 'cfg.py', '--tta']),
])
def test_missing_positionals_stop_before_srun(tmp_path, script, args):
    proc, argv = run_script(tmp_path, script, args)
    assert proc.returncode == 2
    assert 'usage:' in proc.stderr and 'PARTITION JOB_NAME CONFIG' \
        in proc.stderr
    assert argv is None


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_srun_exit_status_is_the_scripts(tmp_path, script):
    proc, argv = run_script(
        tmp_path, script, ['dev', 'job', 'cfg.py', 'x.pth'], SRUN_RC='3')
    assert argv is not None and proc.returncode == 3
