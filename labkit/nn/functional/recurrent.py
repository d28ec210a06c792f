"""Recurrent layers: one LSTM layer over a whole sequence as one graph node."""
import numpy as np

import labkit as _lk
from ...autograd import grad as autograd_grad
from ...autograd.function import Function
from ...kernels import gemm
from ...kernels import nn as NK


# ================================================================ recurrent
class LSTMLayer(Function):
    """One LSTM layer (one direction) over the whole sequence as ONE graph node.

    ``xw`` (L, N, 4H) is the input projection ``x W_ih^T + b_ih`` of every step (one matrix
    product, done before by :func:`linear`).  Each step is then one product ``h W_hh^T`` and one
    fused kernel (``lstm_cell`` in kernels/nn_jit.py: the gate equations, written out); for
    float32 the whole time loop is one Numba function (``kernels.nn.lstm_forward``, rnn_jit.py).
    Backward walks the steps in reverse the same way and computes ``W_hh``'s gradient as one
    product over all steps.  (Step by step with Tensor ops this was ~15 graph nodes per time step.)
    """
    raw = True
    derivative = ("backpropagation through time: the gate equations' derivatives, step by step in "
                  "reverse")
    node_name = "LSTMBackward0"

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, b_hh, b_ih, reverse, batch_first):
        L, N, G = xw.shape
        H = G // 4
        bias = None                                  # both biases, added inside the cell
        if b_hh is not None or b_ih is not None:
            bias = b_hh if b_ih is None else (b_ih if b_hh is None else b_ih + b_hh)
        hs = NK.empty((L + 1, N, H), xw.dtype)       # hs[s]: h before step s (s = 0 .. L)
        cs = NK.empty((L + 1, N, H), xw.dtype)       # (NK.empty: reused buffers)
        acts = NK.empty((L, N, G), xw.dtype)         # i, f, g, o activations of each step
        hs[0], cs[0] = h0, c0
        out = NK.lstm_forward(xw, bias, w_hh, hs, cs, acts, reverse, batch_first)
        ctx.save_for_backward(w_hh, acts, hs, cs, xw, h0, c0, w_hh, b_hh, b_ih)
        ctx.reverse, ctx.batch_first = reverse, batch_first
        ctx.set_materialize_grads(False)
        return out, hs[L].copy(), cs[L].copy()     # (copies: hs / cs stay ours for backward)

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        """The general rule: the vector-Jacobian product of the same layer written step by step
        with Tensor ops (``_lstm_steps``), so that the gradient is itself differentiable
        (``create_graph=True``).  An ordinary backward runs ``fused_backward``."""
        ins = ctx.saved_tensors[4:]                  # xw, h0, c0, w_hh, b_hh, b_ih
        outs = _lstm_steps(*ins, ctx.reverse, ctx.batch_first)
        pairs = [(o, g) for o, g in zip(outs, (g_out, g_h, g_c)) if g is not None]
        want = [i for i, t in enumerate(ins) if ctx.needs_input_grad[i]]
        got = autograd_grad([o for o, _ in pairs], [ins[i] for i in want], [g for _, g in pairs],
                            create_graph=True, allow_unused=True)
        res = [None] * 8
        for i, gi in zip(want, got):
            res[i] = gi
        return tuple(res)

    @staticmethod
    def fused_backward(ctx, g_out, g_h, g_c):
        w_hh, acts, hs, cs = ctx.saved_tensors[:4]
        L, N, G = acts.shape
        H = G // 4
        reverse = ctx.reverse
        dt = acts.dtype
        bf = ctx.batch_first
        g_out = (np.zeros((N, L, H) if bf else (L, N, H), dt) if g_out is None
                 else np.ascontiguousarray(g_out, dt))
        dh = np.zeros((N, H), dt) if g_h is None else np.array(np.broadcast_to(g_h, (N, H)), dt)
        dc = np.zeros((N, H), dt) if g_c is None else np.array(np.broadcast_to(g_c, (N, H)), dt)
        dgates = NK.empty((L, N, G), dt)            # by step s, like acts
        NK.lstm_backward(acts, cs, w_hh, g_out, dh, dc, dgates, reverse, bf)
        nxw, nh, nc, nw, nbh, nbi = ctx.needs_input_grad[:6]
        g_w = g_bh = g_bi = None
        if nw:
            g_w = gemm.matmul(dgates.reshape(L * N, G).T, hs[:L].reshape(L * N, H))
        if nbh or nbi:                               # the same sum for both biases
            g_b = gemm.sum_rows(dgates.reshape(L * N, G))
            g_bh = g_b if nbh else None
            g_bi = (g_b.copy() if nbh else g_b) if nbi else None
        g_xw = dgates[::-1] if reverse else dgates
        return g_xw, dh if nh else None, dc if nc else None, g_w, g_bh, g_bi, None, None


def _lstm_steps(xw, h0, c0, w_hh, b_hh, b_ih, reverse, batch_first=False):
    """The LSTM layer step by step with Tensor ops (LSTMLayer's general backward rule
    differentiates this): returns ``output`` (L, N, H; ``batch_first``: (N, L, H)), ``h_n``,
    ``c_n``."""
    L = xw.shape[0]
    h, c, outs = h0, c0, [None] * L
    for s in range(L):
        t = L - 1 - s if reverse else s
        gates = xw[t] + h @ w_hh.mT
        for b in (b_ih, b_hh):
            if b is not None:
                gates = gates + b
        i, f, gg, o = gates.chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * gg.tanh()
        h = o.sigmoid() * c.tanh()
        outs[t] = h
    return _lk.stack(outs, 1 if batch_first else 0), h, c


def lstm_layer(xw, h0, c0, w_hh, b_hh=None, reverse=False, b_ih=None, batch_first=False):
    """Run one LSTM layer over a sequence: ``xw`` (L, N, 4H) = ``x W_ih^T`` for every step (with
    ``+ b_ih`` there, or ``b_ih`` given here: then both biases are added inside the cell and
    their gradients are one sum), ``h0``/``c0`` (N, H).  Returns ``output`` (L, N, H), or
    (N, L, H) written so with ``batch_first``, then ``h_n``, ``c_n``."""
    return LSTMLayer.apply(xw, h0, c0, w_hh, b_hh, b_ih, bool(reverse), bool(batch_first))
