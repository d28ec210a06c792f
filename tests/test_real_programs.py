"""Programs written as public PyTorch teaching code is written (tests/programs/: a minimal GPT
and trainer, an examples-style MNIST script, a seq2seq model on nn.Transformer) run under
PyTorch as they are and under labkit with only their imports changed; with the same initial
weights and inputs they print the same losses."""
import os
import re
import sys
import types

import numpy as np
import pytest

import labkit as lk

torch = pytest.importorskip("torch")
HERE = os.path.dirname(os.path.abspath(__file__))


def load_program(name, lib):
    """The program module, as written (``lib='torch'``) or with ``import torch`` changed to
    ``import labkit as torch`` (and ``torch.x`` -> ``labkit.x`` in the other imports)."""
    path = os.path.join(HERE, "programs", name + ".py")
    with open(path) as fh:
        src = fh.read()
    if lib == "labkit":
        src = re.sub(r"^import torch$", "import labkit as torch", src, flags=re.M)
        src = re.sub(r"^import torch\.(\S+) as ", r"import labkit.\1 as ", src, flags=re.M)
        src = re.sub(r"^from torch(\.\S+)? import ",
                     lambda m: f"from labkit{m.group(1) or ''} import ", src, flags=re.M)
        assert "torch." not in "".join(l for l in src.splitlines(True)
                                       if l.startswith(("import", "from")))
    mod = types.ModuleType(f"program_{name}_{lib}")
    mod.__file__ = path
    sys.modules[mod.__name__] = mod
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


def numpy_state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def load_numpy_state(lib, model, state):
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})


def test_minimal_gpt_trainer_gives_torch_losses():
    P = {lib: load_program("gpt_trainer", lib) for lib in ("torch", "labkit")}
    cfg = P["torch"].GPTConfig(block_size=16, vocab_size=11, n_layer=2, n_head=2, n_embd=16)
    torch.manual_seed(0)
    tm = P["torch"].GPT(cfg)
    lm = P["labkit"].GPT(P["labkit"].GPTConfig(**vars(cfg)))
    assert list(lm.state_dict()) == list(tm.state_dict())
    assert lm.lm_head.weight is lm.transformer.wte.weight          # tied, as in torch
    load_numpy_state(lk, lm, numpy_state(tm))
    rng = np.random.default_rng(0)
    data = rng.integers(0, 11, (4, 5, 17))
    batches = [(d[:, :-1].copy(), d[:, 1:].copy()) for d in data]
    batches[1][1][0, :3] = -1                                        # ignore_index targets
    t_losses = P["torch"].train(tm, batches, steps=6)
    l_losses = P["labkit"].train(lm, batches, steps=6, compile=True)  # torch's: slow to build
    print("\nGPT losses torch :", np.round(t_losses, 5))
    print("GPT losses labkit:", np.round(l_losses, 5))
    np.testing.assert_allclose(l_losses, t_losses, rtol=2e-4, atol=2e-5)
    assert l_losses[-1] < l_losses[0]
    prompt = data[0, :1, :4]
    t_gen = tm.generate(torch.tensor(prompt), 6, greedy=True).tolist()
    l_gen = lm.generate(lk.tensor(prompt), 6, greedy=True).tolist()
    assert l_gen == t_gen
    assert lm.generate(lk.tensor(prompt), 3, top_k=3).shape == (1, 7)
    # the trained labkit model, exported to torch (its classes rebuilt from the program's source)
    from labkit.interop import to_torch
    exported = to_torch(lm)
    assert type(exported).__name__ == "GPT" and exported.lm_head.weight is \
        exported.transformer.wte.weight
    idx = data[1, :, :-1]
    np.testing.assert_allclose(exported(torch.tensor(idx))[0].detach().numpy(),
                               lm(lk.tensor(idx))[0].detach().numpy(), rtol=1e-4, atol=1e-5)


def test_examples_style_mnist_script_gives_torch_losses(tmp_path):
    P = {lib: load_program("mnist_example", lib) for lib in ("torch", "labkit")}
    train, test = lk.datasets.digits()
    data = ((train.X.numpy()[:192], train.y.numpy()[:192]),
            (test.X.numpy()[:100], test.y.numpy()[:100]))
    torch.manual_seed(1)
    init = numpy_state(P["torch"].Net(0.0))
    argv = ["--epochs", "2", "--batch-size", "64", "--dropout", "0", "--no-mps",
            "--log-interval", "2"]
    t_log, t_res, t_lr = P["torch"].main(argv + ["--save-model", str(tmp_path / "t.pt")],
                                         data, init)
    l_log, l_res, l_lr = P["labkit"].main(argv + ["--save-model",
                                                  str(tmp_path / "l.safetensors")], data, init)
    print("\nMNIST-style losses torch :", np.round(t_log, 5), t_res)
    print("MNIST-style losses labkit:", np.round(l_log, 5), l_res)
    np.testing.assert_allclose(l_log, t_log, rtol=1e-4, atol=1e-5)
    assert [c for _, c in l_res] == [c for _, c in t_res]
    np.testing.assert_allclose([x for x, _ in l_res], [x for x, _ in t_res], rtol=1e-4)
    np.testing.assert_allclose(l_lr, t_lr)                         # StepLR: lr * 0.7 ** 2
    saved = lk.load(tmp_path / "l.safetensors")
    assert set(saved) == set(init)


def test_transformer_translation_model_gives_torch_losses():
    P = {lib: load_program("translation", lib) for lib in ("torch", "labkit")}
    kw = dict(n_enc=2, n_dec=2, d_model=16, nhead=2, src_vocab=12, tgt_vocab=12, d_ff=32,
              dropout=0.0)
    torch.manual_seed(0)
    tm = P["torch"].Seq2Seq(**kw)
    lm = P["labkit"].Seq2Seq(**kw)
    assert list(lm.state_dict()) == list(tm.state_dict())
    load_numpy_state(lk, lm, numpy_state(tm))
    np.testing.assert_allclose(lm.pos.pe.numpy(), tm.pos.pe.numpy(), rtol=1e-6, atol=1e-6)
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(3):                 # the task: reverse the tokens; padded batches of 4
        src = np.zeros((7, 4), np.int64)
        tgt = np.zeros((9, 4), np.int64)
        for j in range(4):
            n = rng.integers(3, 8)
            toks = rng.integers(3, 12, n)
            src[:n, j] = toks
            tgt[:n + 2, j] = [1, *toks[::-1], 2]
        batches.append((src, tgt))
    t_losses = P["torch"].train_steps(tm, batches, 5)
    l_losses = P["labkit"].train_steps(lm, batches, 5)
    print("\nseq2seq losses torch :", np.round(t_losses, 5))
    print("seq2seq losses labkit:", np.round(l_losses, 5))
    np.testing.assert_allclose(l_losses, t_losses, rtol=2e-4, atol=2e-5)
    src = [5, 7, 9, 4]
    assert P["labkit"].greedy_decode(lm, src, 8) == P["torch"].greedy_decode(tm, src, 8)
