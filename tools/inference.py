"""Segment an image or a folder of images with a trained model.

Writes ``OUT/labels/<stem>.png`` (class id per pixel) and
``OUT/overlays/<stem>.png`` (the prediction over the image, with a legend
of the classes it contains). The checkpoint may be published
(``tools/publish_model.py``) or written by ``tools/train.py``::

    python tools/inference.py IMAGE_OR_DIR CONFIG CHECKPOINT --out DIR
"""
import argparse

from mmscribble.apis import init_model
from mmscribble.apis.predict_files import list_images, write_predictions
from mmscribble.utils.cli import unit_float


def parse_args():
    parser = argparse.ArgumentParser(
        description='Segment images; write label PNGs and overlays')
    parser.add_argument('images', help='an image file or a folder of images')
    parser.add_argument('config', help='the training config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--device', default='cpu', help='e.g. cpu or cuda:0 (default: cpu)')
    parser.add_argument(
        '--opacity',
        type=unit_float,
        default=0.5,
        help='weight of the class colours in the overlays (default: 0.5)')
    return parser.parse_args()


def main():
    args = parse_args()
    images = list_images(args.images)
    model = init_model(args.config, args.checkpoint, device=args.device)
    written = write_predictions(model, images, args.out, args.opacity)
    print(f'{len(written)} image(s): label PNGs in {args.out}/labels, '
          f'overlays in {args.out}/overlays')


if __name__ == '__main__':
    main()
