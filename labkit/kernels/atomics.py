"""Atomic counters for Numba kernels whose threads share out work inside one parallel region.

``atomic_add(a, i, v)`` adds ``v`` to ``a[i]`` (an int64 array) and returns the old value;
``atomic_load(a, i)`` reads ``a[i]``; both sequentially consistent, so what a thread wrote
before it counted a block as done is seen by a thread that reads the count.  ``wait_until(a, i,
n)`` spins until ``a[i] >= n``, yielding the core (``sched_yield``) after a short spin so that
a descheduled thread it waits for can run.  They are Numba intrinsics (LLVM's ``atomicrmw`` /
``load atomic`` written into the kernel), so cached kernels need nothing at load time but the
``sched_yield`` symbol, registered here.

Used by ``rnn_jit``: each time step's blocks are *claimed* from a counter by whichever thread
is free, so a thread that does not show up leaves its blocks to the others (never a deadlock),
and the threads stay in one region for the whole sequence instead of one region per step.
"""
import ctypes

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.extending import intrinsic


def _yield_address():
    try:
        return ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value
    except (OSError, AttributeError):           # no C library to ask (not a POSIX system)
        return None


_YIELD = _yield_address()
AVAILABLE = _YIELD is not None
if AVAILABLE:
    llvm.add_symbol("labkit_sched_yield", _YIELD)
_sched_yield = types.ExternalFunction("labkit_sched_yield", types.int32())
SPIN = 200           # loads before each yield


def _pointer(context, builder, sig, args):
    aryty = sig.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])


@intrinsic
def atomic_add(typingctx, a, i, v):
    def codegen(context, builder, sig, args):
        return builder.atomic_rmw("add", _pointer(context, builder, sig, args), args[2],
                                  "seq_cst")
    return types.int64(a, i, v), codegen


@intrinsic
def atomic_load(typingctx, a, i):
    def codegen(context, builder, sig, args):
        return builder.load_atomic(_pointer(context, builder, sig, args), "seq_cst", 8)
    return types.int64(a, i), codegen


@njit(cache=True, nogil=True)
def wait_until(a, i, n):
    spins = 0
    while atomic_load(a, i) < n:
        spins += 1
        if spins >= SPIN:
            _sched_yield()
            spins = 0


WARMUP = {"wait_until": lambda: (np.ones(1, np.int64), 0, 1)}
