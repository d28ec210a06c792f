"""``python -m labkit <command>``.

Commands:
    warmup [-q]         compile (or load from the disk cache) every Numba kernel ahead of time
    doctor [--no-warm]  is this machine ready for the workshop? a checklist with a fix for each
                        failure; exit status 1 when something is broken (see labkit/doctor.py)
"""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("warmup", help="compile or load every Numba kernel ahead of time")
    w.add_argument("-q", "--quiet", action="store_true", help="print nothing; exit status only")
    d = sub.add_parser("doctor", help="check that this machine is ready for the workshop")
    d.add_argument("--no-warm", action="store_true",
                   help="skip warming the kernel cache (faster; the cache is still checked)")
    args = parser.parse_args(argv)
    if args.command == "warmup":
        from .warmup import warmup
        report = warmup(verbose=not args.quiet)
        bad = [s for s in report if s.status.startswith("error")]
        return 1 if bad else 0
    if args.command == "doctor":
        from .doctor import main as doctor
        return doctor(warm=not args.no_warm)
    return 2


if __name__ == "__main__":
    sys.exit(main())
