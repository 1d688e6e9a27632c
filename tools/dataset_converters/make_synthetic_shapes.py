"""Generate the embedded synthetic scribble dataset (see README)."""
import argparse

from mmscribble.datasets.synthetic import generate_synthetic_shapes


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out-dir', default='data/synthetic_shapes')
    parser.add_argument('--num-train', type=int, default=240)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--size', type=int, nargs=2, default=(96, 96),
                        metavar=('H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    out = generate_synthetic_shapes(args.out_dir, args.num_train,
                                    args.num_val, tuple(args.size),
                                    args.seed)
    print(f'wrote {args.num_train} train / {args.num_val} val samples to '
          f'{out}')


if __name__ == '__main__':
    main()
