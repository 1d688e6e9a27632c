"""Publish a checkpoint: keep the weights and meta, name it by its hash.

mmseg's convention (``state_dict`` and ``meta`` with ``dataset_meta``
kept, optimizer dropped; ``OUT.pth`` becomes ``OUT-<sha256[:8]>.pth``);
the message hub and scheduler states are dropped too, and the file loads
with torch's safe unpickler as is::

    python tools/publish_model.py work_dirs/my_run/iter_20000.pth my_model.pth
"""
import argparse

from mmscribble.apis import publish_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(
        description='Publish a checkpoint (weights and meta only)')
    parser.add_argument('in_file', help='checkpoint written by tools/train.py')
    parser.add_argument(
        'out_file', help='NAME.pth; NAME-<sha256[:8]>.pth is written')
    return parser.parse_args()


def main():
    args = parse_args()
    print(publish_checkpoint(args.in_file, args.out_file))


if __name__ == '__main__':
    main()
