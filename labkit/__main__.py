"""``python -m labkit <command>``.

Commands:
    warmup [-q]     compile (or load from the disk cache) every Numba kernel ahead of time
"""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("warmup", help="compile or load every Numba kernel ahead of time")
    w.add_argument("-q", "--quiet", action="store_true", help="print nothing; exit status only")
    args = parser.parse_args(argv)
    if args.command == "warmup":
        from .warmup import warmup
        report = warmup(verbose=not args.quiet)
        bad = [s for s in report if s.status.startswith("error")]
        return 1 if bad else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
