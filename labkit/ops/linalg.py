"""Matrix products (BLAS through NumPy): matmul/@ with PyTorch's 1-D and batched rules, mm, bmm,
mv, dot, outer, einsum, plus softmax/log_softmax (fused row kernels)."""
import numpy as np

from .. import kernels as K
from ..kernels import gemm
from ..autograd.function import Function
from ..tensor import Tensor, _make
from ._common import as_tensor_arg, dim_arg, promote
from ._registry import method, register
from .indexing import index_select


class MatMul(Function):
    raw = True
    derivative = "d(A@B)/dA = G @ B^T, d(A@B)/dB = A^T @ G"
    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _mm(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if na else None), (g * a if nb else None)
        a2 = xp.expand_dims(a, 0) if a.ndim == 1 else a       # vectors as (1, k) / (k, 1) matrices
        b2 = xp.expand_dims(b, -1) if b.ndim == 1 else b
        g2 = xp.expand_dims(g, -2) if a.ndim == 1 else g
        g2 = xp.expand_dims(g2, -1) if b.ndim == 1 else g2
        ga = g2 @ b2.mT if na else None
        gb = a2.mT @ g2 if nb else None
        if ga is not None and a.ndim == 1:
            ga = xp.squeeze(ga, -2)
        if gb is not None and b.ndim == 1:
            gb = xp.squeeze(gb, -1)
        return ga, gb

    @staticmethod
    def fused_backward(ctx, g):
        """The same rule, keeping every product on BLAS (see ``_mm``)."""
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if na else None), (g * a if nb else None)
        if a.ndim == 1:                                   # (k) @ (..., k, n) -> (..., n)
            if na:
                ga = _mm(b, g[..., None])[..., 0]
            if nb:
                gb = a[:, None] * g[..., None, :]
            return ga, gb
        if b.ndim == 1:                                   # (..., m, k) @ (k) -> (..., m)
            if na:
                ga = g[..., :, None] * b[None, :]
            if nb:
                gb = _mm(np.swapaxes(a, -1, -2), g[..., None])[..., 0]
            return ga, gb
        if na:
            ga = _mm(g, np.swapaxes(b, -1, -2))
        if nb:
            if b.ndim == 2 and a.ndim > 2:     # shared weight: one 2-D product over the batch
                gb = gemm.matmul(a.reshape(-1, a.shape[-1]).T, g.reshape(-1, g.shape[-1]))
            else:
                gb = _mm(np.swapaxes(a, -1, -2), g)
        return ga, gb


def _mm(a, b):
    """``np.matmul`` that always reaches BLAS, float32 products on labkit's threads
    (``kernels.gemm``).

    NumPy hands a *batched* product to BLAS only when each operand's matrices are contiguous; a
    transposed operand (``q @ k.transpose(-2, -1)``, a backward's ``g @ W^T``) otherwise falls to a
    plain loop that is ~100x slower.  (batch, n, k) @ (k, m) becomes one 2-D product; batched
    operands with the same batch shape go to ``kernels.gemm`` as they are (up to two batch
    dimensions and any strides: attention's (batch, heads) views are not copied; more become one
    stack of matrices); others are made contiguous first.
    """
    mm = gemm.matmul
    if a.ndim <= 2 and b.ndim <= 2:
        return mm(a, b) if a.ndim == b.ndim == 2 else np.matmul(a, b)
    if b.ndim == 2 and a.flags.c_contiguous:
        return mm(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + (b.shape[-1],))
    if a.ndim == b.ndim and a.shape[:-2] == b.shape[:-2] and a.dtype == b.dtype == np.float32:
        if a.ndim <= 4:                     # one or two batch dimensions: walked as they are
            return mm(a, b)
        y = mm(a.reshape((-1,) + a.shape[-2:]), b.reshape((-1,) + b.shape[-2:]))
        return y.reshape(a.shape[:-1] + (b.shape[-1],))
    if a.ndim > 2 and not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    if b.ndim > 2 and not b.flags.c_contiguous:
        b = np.ascontiguousarray(b)
    return np.matmul(a, b)


def _shape_err(a, b):
    return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[-2] if a.ndim > 1 else 1}"
                        f"x{a.shape[-1]} and {b.shape[-2] if b.ndim > 1 else b.shape[0]}x"
                        f"{b.shape[-1] if b.ndim > 1 else 1}); full shapes {list(a.shape)} @ "
                        f"{list(b.shape)}: the last dim of the first must equal the "
                        f"{'first' if b.ndim == 1 else 'second-to-last'} dim of the second")


_CPP_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
             "int32": "int", "uint8": "unsigned char", "bool": "bool"}
_TYPE_NAME = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
              "int32": "Int", "uint8": "Byte", "bool": "Bool"}


def check_same_dtype(a, b, op=None):
    """Matrix products don't promote: PyTorch raises when the operands' dtypes differ (float32
    with float64, an integer with a float), with the message of the kernel it would have run.
    One home for the check: matmul/@, mm, bmm, mv, dot, einsum, tensordot and ``F.linear``."""
    da, db = a._np.dtype, b._np.dtype
    if da == db:
        if da == np.bool_:
            raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool': convert "
                                      "the operands, e.g. x.float()")
        return
    na, nb = a.dtype.name, b.dtype.name
    if op == "dot" or (op is None and a.ndim == 1 and b.ndim == 1):
        msg = f"dot : expected both vectors to have same dtype, but found {_TYPE_NAME[na]} and " \
              f"{_TYPE_NAME[nb]}"
    elif op == "mv" or (op is None and a.ndim == 2 and b.ndim == 1):
        msg = f"addmv input tensors must have the same dtype, but got {_TYPE_NAME[nb]}, " \
              f"{_TYPE_NAME[na]}, and {_TYPE_NAME[nb]}"
    elif op in ("bmm", "einsum") or (op is None and b.ndim > 2):
        msg = f"expected scalar type {_TYPE_NAME[na]} but found {_TYPE_NAME[nb]}"
    elif op == "addmm":                 # a product with a bias (F.linear with bias)
        msg = f"mat1 and mat2 must have the same dtype, but got {_TYPE_NAME[na]} and " \
              f"{_TYPE_NAME[nb]}"
    elif op == "tensordot":
        msg = "both inputs should have same dtype"
    else:
        msg = f"expected m1 and m2 to have the same dtype, but got: {_CPP_NAME[na]} != " \
              f"{_CPP_NAME[nb]}"
    fix = "x.float()" if "f" not in (da.kind + db.kind) or da.kind != db.kind else \
        "b.to(a.dtype), or model.to(x.dtype) for a layer"
    raise RuntimeError(f"{msg} (shapes {list(a.shape)} and {list(b.shape)}; matrix products "
                       f"don't promote dtypes: convert one operand, e.g. {fix})")


@register("matmul")
def matmul(input, other):
    a, b = as_tensor_arg(input), as_tensor_arg(other)
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): arguments must be tensors, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    check_same_dtype(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != kb:
        raise _shape_err(a, b)
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions {list(a.shape[:-2])} and "
                               f"{list(b.shape[:-2])} cannot be broadcast together") from None
    if a._np.size == 0 or b._np.size == 0:
        return _matmul_empty(a, b)
    return _MATMUL_NODES[(min(a.ndim, 3), min(b.ndim, 3))].apply(a, b)


def _matmul_empty(a, b):
    """A product with a zero-size operand (zeros, or an empty result) as a broadcast composite."""
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    out = (a2.unsqueeze(-1) * b2.unsqueeze(-3)).sum(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    if a.ndim == 1:
        out = out.squeeze(-2 if b.ndim > 1 else -1)
    return out


# PyTorch names the node by the product it ran: dot, mv, mm, bmm
_MATMUL_NODES = {(1, 1): MatMul.variant("DotBackward0"), (2, 1): MatMul.variant("MvBackward0"),
                 (3, 3): MatMul.variant("BmmBackward0")}
for _k in ((1, 2), (1, 3), (2, 2), (2, 3), (3, 1), (3, 2)):
    _MATMUL_NODES[_k] = MatMul


method("__matmul__")(matmul)
method("__rmatmul__")(lambda self, other: matmul(other, self))


def no_out_dtype(name, out_dtype):
    # out_dtype= (e.g. float16 products into float32) is CUDA-only in PyTorch, which raises
    # NotImplementedError on the CPU too
    if out_dtype is not None:
        raise NotImplementedError(f"{name}(out_dtype={out_dtype}): a product in another dtype is "
                                  f"CUDA-only in PyTorch, and labkit runs on the CPU; convert the "
                                  f"result instead ({name}(...).to(dtype))")


@register("mm")
def mm(input, mat2, out_dtype=None):
    no_out_dtype("mm", out_dtype)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input.ndim}-D and {mat2.ndim}-D "
                           f"(shapes {list(input.shape)} and {list(mat2.shape)}); use matmul "
                           f"(@) for batched or 1-D operands")
    return matmul(input, mat2)


@register("bmm")
def bmm(input, mat2, out_dtype=None):
    no_out_dtype("bmm", out_dtype)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {list(input.shape)} and {list(mat2.shape)}")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes must match, got {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


@register("mv")
def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {list(input.shape)} and "
                           f"{list(vec.shape)}")
    return matmul(input, vec)


@register("dot")
def dot(input, tensor):
    other = tensor                                 # PyTorch's name for the second vector
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return matmul(input, other)


@register("outer", "ger")
def outer(input, vec2):
    """``input[:, None] * vec2[None, :]`` for two 1-D tensors."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D (shape "
                               f"{list(t.shape)}); flatten it first, e.g. x.reshape(-1)")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


@register("addmm")
def addmm(input, mat1, mat2, out_dtype=None, *, beta=1, alpha=1):
    no_out_dtype("addmm", out_dtype)
    r = matmul(mat1, mat2)
    if isinstance(input, Tensor) and input._np.dtype != r._np.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{_TYPE_NAME[input.dtype.name]} and {_TYPE_NAME[r.dtype.name]} "
                           f"(shapes {list(input.shape)} and {list(r.shape)}; addmm doesn't "
                           f"promote: convert the bias, e.g. bias.to(mat1.dtype))")
    if alpha != 1:
        r = r * alpha
    return r + (input if beta == 1 else input * beta)


class Einsum(Function):
    """``einsum`` with explicit subscripts (``'...'`` is expanded to letters beforehand).

    The gradient of operand i is again an einsum: contract the output gradient with the other
    operands onto operand i's letters.  Letters that only operand i has were summed away in
    forward, so their gradient is broadcast back; a letter repeated inside operand i ('ii', a
    diagonal) receives its gradient on that diagonal only.
    """
    raw = True
    derivative = "each operand's gradient is an einsum of the output gradient with the others"

    @staticmethod
    def forward(ctx, eq, *ops):
        ctx.save_for_backward(*ops)
        ctx.eq = eq
        y = np.asarray(np.einsum(eq, *ops, optimize=len(ops) > 2))
        if any(np.shares_memory(y, o) for o in ops):      # 'ij->ji', 'ii->i' give NumPy views
            y = y.copy()
        return y

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        xp = ctx.xp
        lhs, out = ctx.eq.split("->")
        ins = lhs.split(",")
        grads = [None]
        for i, (spec, x) in enumerate(zip(ins, ops)):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [o for j, o in enumerate(ops) if j != i]
            ospecs = [s for j, s in enumerate(ins) if j != i]
            unique = "".join(dict.fromkeys(spec))            # 'ii' -> 'i'
            sizes = dict(zip(spec, x.shape))
            avail = set(out) | set("".join(ospecs))
            keep = "".join(c for c in unique if c in avail)
            gi = xp.einsum(",".join([out] + ospecs) + "->" + keep, g, *others)
            if keep != unique:                              # letters summed out of x alone
                shape = [sizes[c] if c in avail else 1 for c in unique]
                gi = xp.broadcast_to(gi.reshape(shape), [sizes[c] for c in unique])
            if unique != spec:                              # repeated letters: onto the diagonal
                sel = _diagonal_selector(spec, unique, sizes, x.shape)
                gi = xp.einsum(_onto_diagonal(ctx.eq, spec, unique), gi,
                               xp.astype(xp.asarray(sel), g.dtype))
            grads.append(gi)
        return tuple(grads)


def _onto_diagonal(eq, spec, unique):
    """The einsum that writes a gradient over ``unique``'s letters onto the diagonal positions
    of an operand spelled ``spec`` ('ii'), by contracting with ``_diagonal_selector``."""
    fresh = "".join([c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     if c not in eq][:len(spec)])
    return f"{unique},{unique}{fresh}->{fresh}"


def _diagonal_selector(spec, unique, sizes, shape):
    """sel[u..., p...] = True where position p of the operand is the diagonal element u."""
    ushape = [sizes[c] for c in unique]
    u = np.indices(ushape).reshape(len(unique), -1)
    sel = np.zeros(ushape + list(shape), dtype=bool)
    sel[tuple(u) + tuple(u[unique.index(c)] for c in spec)] = True
    return sel


def _expand_ellipsis(eq, ops):
    """Rewrite ``'...'`` in an einsum equation as explicit letters (right-aligned, broadcast)."""
    lhs, _, rhs = eq.partition("->")
    specs = lhs.split(",")
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in eq]
    n_ell = 0
    for s, o in zip(specs, ops):
        if "..." in s:
            n_ell = max(n_ell, o.ndim - (len(s) - 3))
    letters = "".join(free[:n_ell])
    new_specs = []
    for s, o in zip(specs, ops):
        if "..." in s:
            k = o.ndim - (len(s) - 3)
            s = s.replace("...", letters[n_ell - k:] if k else "")
        new_specs.append(s)
    if "->" in eq:
        rhs = rhs.replace("...", letters)
    else:                                   # implicit output: the batch letters come first
        joined = "".join(new_specs)
        rhs = letters + "".join(sorted(c for c in set(joined) if joined.count(c) == 1
                                       and c not in letters))
    return ",".join(new_specs) + "->" + rhs


@register("einsum")
def einsum(equation, *operands):
    """Einstein summation, e.g. attention scores ``einsum('bhqd,bhkd->bhqk', q, k)``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    ops = [as_tensor_arg(o) for o in operands]
    specs = eq.split("->")[0].split(",")
    if len(specs) != len(ops):
        raise RuntimeError(f"einsum(): {len(specs)} operands in the equation ('{equation}') but "
                           f"{len(ops)} given")
    for s, o in zip(specs, ops):
        n = len(s) - 3 if "..." in s else len(s)
        if ("..." in s and o.ndim < n) or ("..." not in s and o.ndim != n):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does "
                               f"not match the number of dimensions ({o.ndim}) for operand "
                               f"with shape {list(o.shape)}"
                               + ("" if "..." in s else " and no ellipsis was given"))
    if "." in eq:
        eq = _expand_ellipsis(eq, ops)
    elif "->" not in eq:                    # implicit output: letters used once, sorted
        letters = eq.replace(",", "")
        eq = eq + "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    _check_einsum_sizes(eq, ops)
    for o in ops[1:]:
        check_same_dtype(ops[0], o, "einsum")
    return Einsum.apply(eq, *ops)


def _check_einsum_sizes(eq, ops):
    sizes = {}
    for spec, o in zip(eq.split("->")[0].split(","), ops):
        for c, n in zip(spec, o.shape):
            m = sizes.setdefault(c, n)
            if m != n and 1 not in (m, n):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand with shape "
                                   f"{list(o.shape)} which does not broadcast with previously "
                                   f"seen size {m} (equation '{eq}')")
            sizes[c] = max(m, n)


# ---------------------------------------------------------------- softmax family
class Softmax(Function):
    raw = True
    derivative = "dy/dx = y * (g - sum(g*y)): the softmax Jacobian applied to the gradient"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xm = np.moveaxis(x, dim, -1)
        if x.size == 0:                         # nothing to normalise (the kernel needs a row)
            y = x.copy()
        else:
            y = np.moveaxis(K.rowwise("softmax_lastdim", np.ascontiguousarray(xm)), -1, dim)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - ctx.xp.sum(g * y, axis=ctx.dim, keepdims=True)), None

    @staticmethod
    def fused_backward(ctx, g):
        (y,) = ctx.saved_tensors
        d = ctx.dim
        gm = np.ascontiguousarray(np.moveaxis(g, d, -1))
        ym = np.ascontiguousarray(np.moveaxis(y, d, -1))
        return np.moveaxis(K.rowwise("softmax_backward_lastdim", gm, ym), -1, d), None


class LogSoftmax(Function):
    raw = True
    derivative = "dy/dx = g - softmax(x) * sum(g)"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xm = np.moveaxis(x, dim, -1)
        if x.size == 0:                         # nothing to normalise (the kernel needs a row)
            y = x.copy()
        else:
            y = np.moveaxis(K.rowwise("log_softmax_lastdim", np.ascontiguousarray(xm)), -1, dim)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = ctx.xp
        return g - xp.exp(y) * xp.sum(g, axis=ctx.dim, keepdims=True), None

    @staticmethod
    def fused_backward(ctx, g):
        (y,) = ctx.saved_tensors
        d = ctx.dim
        gm = np.ascontiguousarray(np.moveaxis(g, d, -1))
        ym = np.ascontiguousarray(np.moveaxis(y, d, -1))
        return np.moveaxis(K.rowwise("log_softmax_backward_lastdim", gm, ym), -1, d), None


def _softmax_dim(dim, x, name):
    if dim is None:
        import warnings
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                      f"to include dim=X as an argument.", stacklevel=3)
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return dim_arg(dim, x.ndim)


def _softmax_input(input, dtype, name):
    """The float tensor softmax works on: ``dtype=`` converts; integer input raises as in torch."""
    if dtype is not None:
        return input.to(dtype)
    if isinstance(input, Tensor) and input._np.dtype.kind != "f":
        kind = {"i": "Long", "b": "Bool", "u": "Byte"}.get(input._np.dtype.kind, str(input.dtype))
        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for \'{kind}\': '
                                  f'{name} needs a floating-point tensor; convert it with '
                                  f'x.float() or pass dtype=labkit.float32')
    return input


@register("softmax")
def softmax(input, dim=None, dtype=None):
    x = _softmax_input(input, dtype, "softmax")
    if x.ndim == 0:
        return x * 0 + 1
    return Softmax.apply(x, _softmax_dim(dim, x, "softmax"))


@register("log_softmax")
def log_softmax(input, dim=None, dtype=None):
    x = _softmax_input(input, dtype, "log_softmax")
    if x.ndim == 0:
        return x * 0
    return LogSoftmax.apply(x, _softmax_dim(dim, x, "log_softmax"))


@register("tensordot", method=False)
def tensordot(a, b, dims=2):
    """Sum over the last ``dims`` axes of ``a`` and the first of ``b`` (or explicit axis lists)."""
    check_same_dtype(a, b, "tensordot")
    if isinstance(dims, int):
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    sha, shb = list(a.shape), list(b.shape)
    for i, j in zip(da, db):          # a contracted dim of size 1 broadcasts, as in PyTorch
        if sha[i] != shb[j] and 1 in (sha[i], shb[j]):
            sha[i] = shb[j] = max(sha[i], shb[j])
    if sha != list(a.shape):
        a = a.expand(*sha)
    if shb != list(b.shape):
        b = b.expand(*shb)
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[:a.ndim])
    sb = list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(da, db):
        sb[j % b.ndim] = sa[i % a.ndim]
    out = [c for c in sa if c not in [sa[i % a.ndim] for i in da]] + \
          [c for k, c in enumerate(sb) if k not in [j % b.ndim for j in db]]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


@register("cross", "linalg_cross")
def cross(input, other, dim=None):
    """The 3-D cross product along ``dim`` (the first dim of size 3 when None)."""
    a, b, _ = promote(input, other)
    if dim is None:
        dim = next((i for i, s in enumerate(a.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"no dimension of size 3 in input (shape {list(a.shape)})")
    d = dim_arg(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got "
                           f"{a.shape[d]} and {b.shape[d]}")
    i1 = _make(np.array([1, 2, 0]))
    i2 = _make(np.array([2, 0, 1]))
    return (index_select(a, d, i1) * index_select(b, d, i2)
            - index_select(a, d, i2) * index_select(b, d, i1))


@register("cdist", method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M)."""
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)     # exact for every compute_mode
    return diff.norm(p=p, dim=-1)
