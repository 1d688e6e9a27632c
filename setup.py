from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


setup(
    name='mmscribble',
    version='0.1.0',
    description='Scribble-supervised semantic segmentation for '
    'mmsegmentation 1.x',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.8',
    # torch is deliberately unpinned here: CPU users get 2.13.0 through
    # tools/setup_env.sh, CUDA users keep the build matching their driver.
    install_requires=[
        'torch>=2.0',
        'mmengine==0.10.7',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmsegmentation==1.2.2',
        'numpy',
        'opencv-python',
        'scikit-image',
        'scipy',
        'nibabel',
        'tqdm',
    ],
    extras_require={'tests': ['pytest']},
    license='Apache License 2.0',
    zip_safe=False)
