"""Recurrent layers: RNN, LSTM, GRU (multi-layer, bidirectional, batch_first) and their cells.

Each layer first computes the input projection for all time steps with one matrix product, then
loops over time with the (small) hidden-to-hidden product: the gate equations are written out as
in the docstrings, so a reader can follow them line by line.
"""
import math

import labkit as _lk
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(x, h, w_hh, b_hh, relu):
    pre = x + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(x, h, c, w_hh, b_hh):
    gates = x + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return h, c


def _gru_step(x, h, w_hh, b_hh):
    gh = F.linear(h, w_hh, b_hh)
    x_r, x_z, x_n = x.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if proj_size:
            raise NotImplementedError("LSTM(proj_size>0) is not supported by labkit")
        if not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be positive integers")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else hidden_size * num_directions
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                shapes = [(gate_size, layer_input), (gate_size, hidden_size)]
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    shapes += [(gate_size,), (gate_size,)]
                for n, s in zip(names, shapes):
                    setattr(self, n, Parameter(_lk.empty(*s, dtype=dtype)))
                self._flat_weights_names += names
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in self._flat_weights_names[i:i + (4 if self.bias else 2)]]
                for i in range(0, len(self._flat_weights_names), 4 if self.bias else 2)]

    def _layer_params(self, layer, direction):
        sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        p = self._parameters
        return (p[f"weight_ih{sfx}"], p[f"weight_hh{sfx}"], p.get(f"bias_ih{sfx}"),
                p.get(f"bias_hh{sfx}"))

    def _check_hidden(self, h, expected, what="hidden"):
        if tuple(h.shape) != tuple(expected):
            raise RuntimeError(f"Expected {what} size {tuple(expected)}, got {list(h.shape)}")

    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        unbatched = input.dim() == 2
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first
                                                   else input)
        L, N = x.shape[0], x.shape[1]
        D = 2 if self.bidirectional else 1
        hshape = (self.num_layers * D, N, self.hidden_size)
        if hx is None:
            h0 = _lk.zeros(*hshape, dtype=input.dtype)
            c0 = _lk.zeros(*hshape, dtype=input.dtype) if is_lstm else None
        else:
            if is_lstm:
                h0, c0 = hx
                if unbatched:
                    h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
                self._check_hidden(h0, hshape)
                self._check_hidden(c0, hshape, "cell")
            else:
                h0 = hx.unsqueeze(1) if unbatched else hx
                self._check_hidden(h0, hshape)
                c0 = None
        h_n, c_n = [], []
        layer_in = x
        out_bf = False              # the last LSTM layer writes a batch-first output as such
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, d)
                h = h0[layer * D + d]
                c = c0[layer * D + d] if is_lstm else None
                if is_lstm:
                    # the loop below with _lstm_step, as one graph node (F.LSTMLayer); both
                    # biases are added in its cell (one sum for their gradients)
                    xw = F.linear(layer_in, w_ih)       # input projection of all steps at once
                    out_bf = (self.batch_first and not unbatched
                              and layer == self.num_layers - 1)
                    out, h, c = F.lstm_layer(xw, h, c, w_hh, b_hh, reverse=d == 1, b_ih=b_ih,
                                             batch_first=out_bf)
                    outs.append(out)
                    h_n.append(h)
                    c_n.append(c)
                    continue
                xw = F.linear(layer_in, w_ih, b_ih).unbind(0)
                steps = range(L - 1, -1, -1) if d == 1 else range(L)
                seq = [None] * L
                for t in steps:
                    if self.mode == "GRU":
                        h = _gru_step(xw[t], h, w_hh, b_hh)
                    else:
                        h = _rnn_step(xw[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
                    seq[t] = h
                outs.append(_lk.stack(seq, 0))
                h_n.append(h)
            layer_in = outs[0] if D == 1 else _lk.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = _lk.stack(h_n, 0)
        c_n = _lk.stack(c_n, 0) if is_lstm else None
        if unbatched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first and not out_bf:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Args:
        input_size, hidden_size (int)
        num_layers (int): stacked layers. Default: 1
        nonlinearity (str): ``'tanh'`` or ``'relu'``. Default: ``'tanh'``
        bias (bool), batch_first (bool): input ``(N, L, H_in)`` instead of ``(L, N, H_in)``
        dropout (float): dropout on the outputs of each layer but the last
        bidirectional (bool)

    Returns:
        ``output`` ``(L, N, D * H_out)`` and ``h_n`` ``(D * num_layers, N, H_out)``.

    Examples::

        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, hn = rnn(labkit.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)

    def extra_repr(self):
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory.

    For each step: ``i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh)``;
    ``i, f, o = sigmoid(.)``, ``g = tanh(g)``; ``c = f * c + i * g``; ``h = o * tanh(c)``.

    Returns ``output, (h_n, c_n)``.  Arguments as :class:`RNN` (no ``nonlinearity``).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit.

    ``r = sigmoid(x_r + h_r)``, ``z = sigmoid(x_z + h_z)``, ``n = tanh(x_n + r * h_n)``,
    ``h = (1 - z) * n + z * h`` (``x_*`` / ``h_*``: the input / hidden projections).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype)


class _CellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(_lk.empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(_lk.empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_lk.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(_lk.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        stdv = 1.0 / math.sqrt(hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _zeros(self, input):
        shape = (input.shape[0], self.hidden_size) if input.dim() == 2 else (self.hidden_size,)
        return _lk.zeros(*shape, dtype=input.dtype)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        return s + (", bias=False" if not self.bias else "")


class RNNCell(_CellBase):
    """One step of :class:`RNN`: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        h = self._zeros(input) if hx is None else hx
        return _rnn_step(F.linear(input, self.weight_ih, self.bias_ih), h, self.weight_hh,
                         self.bias_hh, self.nonlinearity == "relu")


class LSTMCell(_CellBase):
    """One step of :class:`LSTM`; returns ``(h', c')``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def forward(self, input, hx=None):
        if hx is None:
            hx = (self._zeros(input), self._zeros(input))
        return _lstm_step(F.linear(input, self.weight_ih, self.bias_ih), hx[0], hx[1],
                          self.weight_hh, self.bias_hh)


class GRUCell(_CellBase):
    """One step of :class:`GRU`."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def forward(self, input, hx=None):
        h = self._zeros(input) if hx is None else hx
        return _gru_step(F.linear(input, self.weight_ih, self.bias_ih), h, self.weight_hh,
                         self.bias_hh)
