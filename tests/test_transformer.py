"""nn.Transformer, TransformerDecoder(Layer), TransformerEncoder vs PyTorch: the same state_dict
keys, and the same outputs and gradients once the weights are copied over (PyTorch's docs:
torch.nn.Transformer, generate_square_subsequent_mask, the mask arguments and their shapes)."""
import numpy as np
import pytest

import labkit as lk
from labkit import nn
import labkit.nn.functional as F

torch = pytest.importorskip("torch")


def copy_weights(src_torch, dst_lk):
    sd = {k: lk.tensor(v.detach().numpy().copy()) for k, v in src_torch.state_dict().items()}
    dst_lk.load_state_dict(sd)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def both(a, requires_grad=False):
    return lk.tensor(a.copy(), requires_grad=requires_grad), \
        torch.tensor(a.copy(), requires_grad=requires_grad)


def close(a, b, tol=2e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_generate_square_subsequent_mask_is_pytorchs():
    m = nn.Transformer.generate_square_subsequent_mask(5)
    t = torch.nn.Transformer.generate_square_subsequent_mask(5)
    assert m.dtype == lk.float32 and tuple(m.shape) == (5, 5)
    np.testing.assert_array_equal(m.numpy(), t.numpy())
    assert np.isneginf(m.numpy()[0, 1]) and m.numpy()[1, 0] == 0
    m64 = nn.Transformer.generate_square_subsequent_mask(3, dtype=lk.float64)
    assert m64.dtype == lk.float64


@pytest.mark.parametrize("norm_first,batch_first,activation,bias", [
    (False, False, "relu", True), (True, True, "gelu", True), (False, True, "callable", False)])
def test_transformer_matches_torch(norm_first, batch_first, activation, bias):
    kw = dict(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=24, dropout=0.0, layer_norm_eps=1e-6, batch_first=batch_first,
              norm_first=norm_first, bias=bias)
    act_l = F.silu if activation == "callable" else activation
    act_t = torch.nn.functional.silu if activation == "callable" else activation
    tm = torch.nn.Transformer(activation=act_t, **kw)
    lm = nn.Transformer(activation=act_l, **kw)
    assert list(lm.state_dict()) == list(tm.state_dict())
    assert {k: tuple(v.shape) for k, v in lm.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    copy_weights(tm, lm)
    S, T, N = 7, 5, 3
    src = rand(N, S, 16, seed=1) if batch_first else rand(S, N, 16, seed=1)
    tgt = rand(N, T, 16, seed=2) if batch_first else rand(T, N, 16, seed=2)
    (ls, ts), (lt, tt) = both(src, True), both(tgt, True)
    src_kpm = np.zeros((N, S), bool)
    src_kpm[1, -2:] = True
    tgt_kpm = np.zeros((N, T), bool)
    tgt_kpm[2, -1] = True
    mem_mask = np.zeros((T, S), np.float32)
    mem_mask[:, 0] = -1.5
    lout = lm(ls, lt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(T),
              src_key_padding_mask=lk.tensor(src_kpm), tgt_key_padding_mask=lk.tensor(tgt_kpm),
              memory_key_padding_mask=lk.tensor(src_kpm), memory_mask=lk.tensor(mem_mask))
    tout = tm(ts, tt, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T),
              src_key_padding_mask=torch.tensor(src_kpm),
              tgt_key_padding_mask=torch.tensor(tgt_kpm),
              memory_key_padding_mask=torch.tensor(src_kpm), memory_mask=torch.tensor(mem_mask))
    assert tuple(lout.shape) == tuple(tout.shape)
    close(lout, tout)
    w = rand(*tout.shape, seed=3)
    (lout * lk.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    close(ls.grad, ts.grad, 1e-4)
    close(lt.grad, tt.grad, 1e-4)
    lg = dict(lm.named_parameters())
    for k, p in tm.named_parameters():
        close(lg[k].grad, p.grad, 1e-4)


def test_decoder_layer_and_stack_match_torch_with_bool_masks_and_unbatched():
    tl = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    ll = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    assert list(ll.state_dict()) == list(tl.state_dict())
    copy_weights(tl, ll)
    (lt, tt), (lm, tm_) = both(rand(4, 2, 8, seed=4)), both(rand(6, 2, 8, seed=5))
    causal = np.triu(np.ones((4, 4), bool), 1)
    close(ll(lt, lm, tgt_mask=lk.tensor(causal), tgt_is_causal=True),
          tl(tt, tm_, tgt_mask=torch.tensor(causal), tgt_is_causal=True))
    # unbatched (T, E) / (S, E)
    close(ll(lt[:, 0], lm[:, 0]), tl(tt[:, 0], tm_[:, 0]))
    # the stack, with a final norm and tgt_is_causal detected from the mask
    tdec = torch.nn.TransformerDecoder(tl, 3, norm=torch.nn.LayerNorm(8))
    ldec = nn.TransformerDecoder(ll, 3, norm=nn.LayerNorm(8))
    assert list(ldec.state_dict()) == list(tdec.state_dict())
    copy_weights(tdec, ldec)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    close(ldec(lt, lm, tgt_mask=mask),
          tdec(tt, tm_, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4)))


def test_custom_encoder_decoder_and_errors():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 1)
    m = nn.Transformer(d_model=8, nhead=2, custom_encoder=enc, custom_decoder=dec)
    assert m.encoder is enc and m.decoder is dec
    assert [k.split(".")[0] for k in m.state_dict()] == \
        ["encoder"] * len(enc.state_dict()) + ["decoder"] * len(dec.state_dict())
    m.eval()
    with pytest.raises(RuntimeError, match="batch number"):
        m(lk.rand(5, 2, 8), lk.rand(4, 3, 8))
    with pytest.raises(RuntimeError, match="d_model"):
        m(lk.rand(5, 2, 8), lk.rand(4, 2, 6))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerDecoderLayer(8, 2, activation="tanh")
    # as in PyTorch, tgt_is_causal is a hint that needs the mask itself
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        torch.nn.TransformerDecoderLayer(8, 2)(torch.rand(3, 1, 8), torch.rand(2, 1, 8),
                                               tgt_is_causal=True)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        dec.layers[0](lk.rand(3, 1, 8), lk.rand(2, 1, 8), tgt_is_causal=True)


def test_transformer_defaults_and_init():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=16)
    assert (m.d_model, m.nhead, m.batch_first) == (8, 2, False)
    t = torch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                             dim_feedforward=16)
    assert list(m.state_dict()) == list(t.state_dict())
    assert m.decoder.layers[0].dropout.p == 0.1
    # xavier_uniform_ on every matrix: bound sqrt(6 / (fan_in + fan_out))
    w = m.decoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= np.sqrt(6 / (8 + 16)) + 1e-7


def test_transformer_goes_to_torch_and_back_with_interop():
    from labkit.interop import from_torch, to_torch
    lm = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                        dim_feedforward=16, dropout=0.0, activation=F.silu, batch_first=True,
                        norm_first=True)
    tm = to_torch(lm)
    assert type(tm) is torch.nn.Transformer and list(tm.state_dict()) == list(lm.state_dict())
    assert tm.decoder.layers[0].activation is torch.nn.functional.silu
    (ls, ts), (lt, tt) = both(rand(2, 6, 8, seed=7)), both(rand(2, 4, 8, seed=8))
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    close(lm(ls, lt, tgt_mask=mask), tm(ts, tt, tgt_mask=tmask))
    back = from_torch(tm)
    assert type(back) is nn.Transformer and type(back.decoder) is nn.TransformerDecoder
    close(back(ls, lt, tgt_mask=mask), tm(ts, tt, tgt_mask=tmask))


def test_is_causal_is_a_hint_that_needs_the_mask_as_in_torch():
    x = rand(4, 2, 8, seed=9)
    ll = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    copy_weights(tl, ll)
    for lib, layer in ((lk, ll), (torch, tl)):
        with pytest.raises(RuntimeError, match="Need attn_mask"):
            layer(lib.tensor(x), is_causal=True)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        nn.MultiheadAttention(8, 2)(lk.tensor(x), lk.tensor(x), lk.tensor(x), is_causal=True)
    # with the mask: the same as torch, bool or float, hint or detected
    te = torch.nn.TransformerEncoder(tl, 2, enable_nested_tensor=False)
    le = nn.TransformerEncoder(ll, 2)
    copy_weights(te, le)
    bm = np.triu(np.ones((4, 4), bool), 1)
    close(le(lk.tensor(x), mask=lk.tensor(bm), is_causal=True),
          te(torch.tensor(x), mask=torch.tensor(bm), is_causal=True))
    close(le(lk.tensor(x), mask=nn.Transformer.generate_square_subsequent_mask(4)),
          te(torch.tensor(x), mask=torch.nn.Transformer.generate_square_subsequent_mask(4)))
