"""PyTorch's own op specification as labkit's conformance suite.

PyTorch describes its ops as data: ``torch.testing._internal.common_methods_invocations.op_db``
holds one ``OpInfo`` per op (or per variant of an op, e.g. ``div.floor_rounding``).  Each names
the op, its method and in-place variants, the dtypes it supports and a generator of sample inputs
(edge shapes, zero-size and 0-d tensors, broadcasting, keyword arguments).  This module runs every
sample through PyTorch and through labkit and compares:

* forward outputs in float64 and float32 (plus int64 and bool where the OpInfo supports them):
  same type, dtype, shape and values (tolerances in ``TOLERANCE``; integers and bools exactly);
  function, method (``x.op(...)``) and in-place (``x.op_(...)``) variants;
* input gradients in float64 with the same upstream gradient (``torch.autograd.grad`` against
  ``labkit.autograd.grad``);
* second derivatives (gradient of the gradient, again with one shared upstream vector) where the
  OpInfo says PyTorch supports them (``supports_gradgrad``) -- reported in a column of its own.

An op passes only when all of its samples pass forward and gradient checks.  Ops run in a small
pool of worker processes (``run_ops``): a crash, a runaway allocation or a hang in one op costs that
op (and a worker restart), never the run.  ``scripts/conformance.py`` prints the table;
``tests/test_conformance.py`` keeps the committed results true.

The pieces: tests/opinfo_conformance_ops.py (what is tried, loading ``op_db``, mapping torch to
labkit), tests/opinfo_conformance_check.py (comparing, checking one op) and this module (the
worker pool and the tables).

Run from the repository root with ``PYTHONPATH=$PWD``; importing ``op_db`` needs ``expecttest``.
"""
import json
import os
import select
import subprocess
import sys
import threading
import time
import warnings

from opinfo_conformance_check import (COMPARISON_NOTES, GRADGRAD_NOTES, RESULT_STATUSES, _short,
                                      check_op)
from opinfo_conformance_ops import EXCLUDED, load_op_db, tried_keys


# ----------------------------------------------------------------------------------------------
# Worker pool: a crash or hang costs one op, never the run
# ----------------------------------------------------------------------------------------------

KEYS_REQUEST = "__tried_keys__"   # ask a worker for tried_keys() (saves importing op_db here)


def _worker_main():
    """Read op keys on stdin, answer one JSON line each on the original stdout."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                          # whatever ops print goes to stderr
    try:
        import resource
        limit = int(os.environ.get("LABKIT_CONFORMANCE_MEM_GB", "6")) << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    warnings.simplefilter("ignore")
    load_op_db()
    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        key = line.strip()
        if not key:
            continue
        try:
            if key == KEYS_REQUEST:
                res = {"status": "pass", "keys": tried_keys()}
            else:
                res = check_op(key)
        except BaseException as e:          # MemoryError, RecursionError, ...
            res = {"status": "crash", "gradgrad": "n/a", "error": _short(e)}
        proto.write(json.dumps({"key": key, **res}) + "\n")


class _Worker:
    def __init__(self, stderr):
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        env.setdefault("MKL_NUM_THREADS", "1")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, env=env, text=True, bufsize=1)
        self.ready = False

    def read(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError
        return json.loads(line)

    def kill(self):
        try:
            self.proc.kill()
            self.proc.wait(5)
        except Exception:
            pass


def run_ops(keys, workers=2, timeout=120.0, progress=None, stderr=None, startup_timeout=300.0):
    """Check ``keys`` in ``workers`` worker processes; ``{key: result}``.

    ``timeout`` is per op; a worker that dies or overruns is killed and replaced, and its op
    is reported as ``crash`` or ``timeout``.
    """
    if stderr is None:
        stderr = subprocess.DEVNULL
    todo = list(keys)
    lock = threading.Lock()
    results = {}

    def take():
        with lock:
            return todo.pop(0) if todo else None

    def loop():
        w = None
        while True:
            key = take()
            if key is None:
                break
            for attempt in range(2):
                if w is None:
                    w = _Worker(stderr)
                    try:
                        msg = w.read(startup_timeout)
                    except EOFError:
                        msg = None
                    if not msg or not msg.get("ready"):
                        w.kill()
                        w = None
                        res = {"status": "crash", "gradgrad": "n/a",
                               "error": "worker did not start"}
                        continue
                t0 = time.perf_counter()
                try:
                    w.proc.stdin.write(key + "\n")
                    w.proc.stdin.flush()
                    msg = w.read(timeout)
                    if msg is None:
                        res = {"status": "timeout", "gradgrad": "n/a",
                               "error": f"no answer within {timeout:.0f} s"}
                        w.kill()
                        w = None
                    else:
                        res = {k: v for k, v in msg.items() if k != "key"}
                except (EOFError, BrokenPipeError, OSError):
                    rc = w.proc.poll()
                    res = {"status": "crash", "gradgrad": "n/a",
                           "error": f"worker process died (exit code {rc})"}
                    w.kill()
                    w = None
                res.setdefault("seconds", round(time.perf_counter() - t0, 3))
                break
            with lock:
                results[key] = res
                if progress:
                    progress(key, res, len(results))
        if w is not None:
            try:
                w.proc.stdin.close()
                w.proc.wait(10)
            except Exception:
                w.kill()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------

def summary(results):
    tried = len(results)
    by = {s: sum(1 for r in results.values() if r["status"] == s) for s in RESULT_STATUSES}
    gg = {s: sum(1 for r in results.values() if r.get("gradgrad") == s)
          for s in ("pass", "fail", "n/a")}
    strict = sum(1 for r in results.values() if r["status"] == "pass" and r.get("gradgrad")
                 != "fail")
    return {"tried": tried, **by, "gradgrad": gg, "pass_with_gradgrad": strict,
            "pass_rate": round(100.0 * by["pass"] / tried, 1) if tried else 0.0}


def headline(results):
    s = summary(results)
    return (f"{s['pass']} of {s['tried']} OpInfos pass ({s['pass_rate']}%): "
            f"{s['fail_forward']} fail forward, {s['fail_grad']} fail gradient, "
            f"{s['missing']} missing, {s['crash']} crash, {s['timeout']} time out; "
            f"second derivatives: {s['gradgrad']['pass']} pass, {s['gradgrad']['fail']} fail")


def markdown(results, torch_version):
    s = summary(results)
    lines = [
        "# Op conformance against PyTorch's OpInfo database",
        "",
        "Generated by `scripts/conformance.py --write` (do not edit by hand); checked by "
        "`tests/test_conformance.py`.",
        f"Oracle: torch {torch_version}, `torch.testing._internal.common_methods_invocations"
        ".op_db`.",
        "",
        f"**{headline(results)}.**",
        "",
        "An op passes when every sample input gives PyTorch's outputs (float64, float32, and "
        "int64/bool where the OpInfo supports them; function, method and in-place variants) "
        "and PyTorch's float64 input gradients. Second derivatives (where PyTorch supports "
        "them) are reported in their own column and do not count towards the headline.",
        "",
        "## Left out on purpose",
        "",
        "| kind | why | ops |",
        "|---|---|---|",
    ]
    for kind, (why, names) in EXCLUDED.items():
        shown = ", ".join(sorted(names)) if names else {
            "masked": "every `masked.*`"}.get(kind, "")
        if kind == "internal":
            shown = "names starting with `_` or `torch.`, " + shown
        lines.append(f"| {kind} | {why} | {shown} |")
    lines += ["", "## Compared with care", "", "| op | how, and why |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in COMPARISON_NOTES.items()]
    gg = sorted(k for k, r in results.items() if r.get("gradgrad") == "fail")
    if gg:
        lines += ["", "## Second derivatives that differ", "", "| op | why |", "|---|---|"]
        lines += [f"| `{k}` | {GRADGRAD_NOTES.get(k, 'not yet explained: see the table')} |"
                  for k in gg]
    lines += ["", "## Per op", "",
              "| op | status | gradgrad | samples | first error |", "|---|---|---|---|---|"]
    for key in sorted(results):
        r = results[key]
        err = (r.get("error") or "") if r["status"] != "pass" else ""
        if r.get("gradgrad") == "fail" and not err:
            err = "gradgrad: " + r.get("gradgrad_error", "")
        err = err.replace("|", "\\|")
        if len(err) > 220:
            err = err[:217] + "..."
        lines.append(f"| `{key}` | {r['status']} | {r.get('gradgrad', 'n/a')} | "
                     f"{r.get('samples', '')} | {err} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__" and "--worker" in sys.argv:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _worker_main()
