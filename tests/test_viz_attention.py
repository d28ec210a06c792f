"""lk.viz.attention without a kernel: shapes accepted, weights sent exactly, causal masks
recognised, nn.MultiheadAttention outputs and hooks (labkit and PyTorch), throttling, static PNG."""
import base64
import math

import numpy as np
import pytest
import torch

import labkit as lk
import labkit.nn as nn
from labkit.viz._attention import AttentionView, attention, is_causal, normalize


def softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def sent(view):
    m = view.meta
    return np.frombuffer(view.weights, "<f4").reshape(m["batch_shown"], m["heads"],
                                                      m["tq_shown"], m["tk_shown"])


def test_shapes_and_exact_weights():
    w = softmax(np.random.default_rng(0).standard_normal((2, 3, 4, 4))).astype(np.float32)
    v = attention(w, ["the", "cat", "sat", "."])
    np.testing.assert_array_equal(sent(v), w)
    m = v.meta
    assert (m["batch"], m["heads"], m["tq"], m["tk"]) == (2, 3, 4, 4)
    assert m["q_tokens"] == m["k_tokens"] == ["the", "cat", "sat", "."]
    assert m["row_sums_one"] and not m["causal"]
    assert normalize(w[0]).shape == (1, 3, 4, 4) and normalize(w[0, 0]).shape == (1, 1, 4, 4)
    with pytest.raises(ValueError, match=r"\[batch, heads, T, S\]"):
        attention(np.zeros(5))
    with pytest.raises(ValueError, match="3 tokens for 4 positions"):
        attention(w, ["a", "b", "c"])


def test_cross_attention_needs_key_tokens_and_is_never_causal():
    w = softmax(np.random.default_rng(1).standard_normal((2, 3, 5)))
    v = attention(w, ["q0", "q1", "q2"], key_tokens=list("abcde"))
    assert v.meta["k_tokens"] == list("abcde") and v.meta["tk"] == 5 and not v.meta["causal"]
    v2 = attention(w)                                      # default labels: positions
    assert v2.meta["k_tokens"] == ["0", "1", "2", "3", "4"]


def test_causal_mask_from_a_real_multihead_attention_matches_torch():
    """labkit's nn.MultiheadAttention with a causal mask: the view recognises the mask, and the
    weights it shows are PyTorch's for the same parameters."""
    lk.manual_seed(0)
    E, H, T = 8, 2, 5
    m = nn.MultiheadAttention(E, H, batch_first=True)
    x = lk.randn(1, T, E)
    mask = lk.triu(lk.full((T, T), float("-inf")), diagonal=1)
    out = m(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    v = attention(out, list("abcde"))
    assert v.meta["causal"] and v.meta["heads"] == H
    tm = torch.nn.MultiheadAttention(E, H, batch_first=True)
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert name == tname
            tp.copy_(torch.tensor(p.detach().numpy()))
    _, tw = tm(*(torch.tensor(x.numpy()),) * 3, attn_mask=torch.tensor(mask.numpy()),
               need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(sent(v), tw.detach().numpy(), atol=1e-6)
    assert is_causal(tw.detach().numpy()) and not is_causal(np.full((1, 3, 3), 1 / 3))
    with pytest.raises(ValueError, match="need_weights=True"):
        attention((out[0], None))


def test_hook_on_a_model_updates_live_and_throttled():
    lk.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, need_weights=True, average_attn_weights=False)[0]

    model = Block()
    v = attention(model, list("abcd"), max_rate=1e6)
    assert v.meta == {} and v.updates == 0
    x = lk.randn(1, 4, 8)
    model(x)
    assert v.updates == 1 and v.meta["heads"] == 2
    w_direct = model.attn(x, x, x, need_weights=True, average_attn_weights=False)[1]
    np.testing.assert_allclose(sent(v), w_direct.detach().numpy(), atol=1e-7)
    v.max_rate = 1e-3                                      # now throttled: later calls wait
    for _ in range(5):
        model(x)
    assert v.updates == 1 + 1 and v.calls == 7             # (the direct call above counted too)
    v._on_cell_end()                                        # the last skipped one is sent
    assert v.updates == 3
    v.remove()
    model(x)
    assert v.calls == 7
    with pytest.raises(ValueError, match="no nn.MultiheadAttention"):
        attention(nn.Linear(2, 2))
    with pytest.raises(IndexError, match="has 1 nn.MultiheadAttention"):
        attention(model, layer=1)


def test_hook_on_the_second_attention_layer():
    lk.manual_seed(0)
    a1, a2 = nn.MultiheadAttention(4, 1, batch_first=True), nn.MultiheadAttention(4, 2, batch_first=True)
    model = nn.ModuleList([a1, a2])
    v = attention(model, layer=1, max_rate=1e6)
    x = lk.randn(1, 3, 4)
    a1(x, x, x)
    assert v.updates == 0
    _, w = a2(x, x, x, average_attn_weights=False)
    assert v.updates == 1 and v.meta["heads"] == 2
    np.testing.assert_allclose(sent(v), w.detach().numpy(), atol=1e-7)


def test_pytorch_module_hook_too():
    tm = torch.nn.MultiheadAttention(4, 1, batch_first=True)
    v = attention(tm, max_rate=1e6)
    x = torch.randn(2, 3, 4)
    _, w = tm(x, x, x, need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(sent(v), w.detach().numpy(), atol=1e-7)
    assert v.meta["batch"] == 2


def test_bounds_and_static_picture():
    w = softmax(np.random.default_rng(2).standard_normal((20, 4, 300, 300))).astype(np.float32)
    v = attention(w, max_tokens=64, max_batch=3)
    assert sent(v).shape == (3, 4, 64, 64) and v.meta["tq"] == 300
    fb = v.fallback_bundle()
    png = base64.b64decode(fb["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 3000
    assert f"labkit-fallback-{v._fallback_key}" in fb["text/html"]
    plain = base64.b64decode(v._png_plain(w[0, :, :8, :8]))
    assert plain[:4] == b"\x89PNG"
    assert repr(v).startswith("AttentionView(batch=20, heads=4")
    assert AttentionView().fallback_bundle() == {}


def test_hook_on_a_transformer_layer_that_asks_for_no_weights():
    """nn.TransformerEncoderLayer calls its attention with need_weights=False: the view computes
    the weights again (no gradients) when it redraws, equal to a direct call's."""
    lk.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    T = 5
    mask = lk.triu(lk.full((T, T), float("-inf")), diagonal=1)
    v = attention(layer, list("abcde"), max_rate=1e6)
    x = lk.randn(1, T, 8, requires_grad=True)
    out = layer(x, src_mask=mask)
    out.sum().backward()                                  # training still works through it
    assert v.updates == 1 and v.meta["causal"] and v.meta["heads"] == 2
    assert v.calls == 1                                   # the recomputation is not counted
    shown = sent(v).copy()
    _, w = layer.self_attn(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(shown, w.detach().numpy(), atol=1e-6)
    assert v.updates == 2 and v.calls == 2                # (the direct call is hooked too)
    v.max_rate = 1e-3
    layer(x, src_mask=mask)                               # throttled: nothing computed now
    assert v.updates == 2 and callable(v._pending)
    v._on_cell_end()
    assert v.updates == 3
