"""labkit.interop.to_torch / from_torch for your own nn.Module subclasses: rebuilt from their
source (a file or a notebook cell) with labkit's names bound to PyTorch's, created with the
same constructor arguments, weights copied; the notebook-09 TinyGPT exported and trained with
DistributedDataParallel over gloo (the notebook-10 path); clear errors when impossible."""
import os
import socket
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest

import labkit as lk
import labkit.nn.functional as F
from labkit import nn
from labkit.interop import from_torch, to_torch

torch = pytest.importorskip("torch")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def x32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return F.gelu(self.fc(x)) + x


class Net(nn.Module):
    """Nested own classes, a function argument, a buffer built from labkit ops."""

    def __init__(self, d, n=2, act=F.relu):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d) for _ in range(n)])
        self.act = act
        self.register_buffer("mask", lk.triu(lk.ones(d, d), 1))

    def forward(self, x):
        for b in self.blocks:
            x = self.act(b(x))
        return lk.tanh(x @ self.mask)


class ScaledLinear(nn.Linear):
    """A subclass of a built-in layer with its own forward."""

    def __init__(self, *args, scale=2.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = scale

    def forward(self, x):
        return super().forward(x) * self.scale


def test_own_classes_are_rebuilt_under_torch_with_the_same_numbers():
    m = Net(4, n=3, act=F.silu)
    tm = to_torch(m)
    assert isinstance(tm, torch.nn.Module) and type(tm).__name__ == "Net"
    assert type(tm.blocks[0]).__name__ == "Block" and tm.act is torch.nn.functional.silu
    assert list(tm.state_dict()) == list(m.state_dict())
    x = x32(5, 4)
    tx, lx = torch.tensor(x, requires_grad=True), lk.tensor(x, requires_grad=True)
    tout, lout = tm(tx), m(lx)
    np.testing.assert_allclose(tout.detach().numpy(), lout.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    tout.sum().backward()
    lout.sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), lx.grad.numpy(), rtol=1e-5, atol=1e-6)
    # and back: the original class, the same weights
    back = from_torch(tm)
    assert type(back) is Net and type(back.blocks[0]) is Block
    np.testing.assert_allclose(back(lk.tensor(x)).detach().numpy(), lout.detach().numpy(),
                               rtol=1e-6, atol=1e-7)
    # a second conversion reuses the rebuilt classes
    assert type(to_torch(Net(4))) is type(tm)


def test_subclass_of_a_layer_and_class_defined_in_a_function_with_a_closure():
    s = ScaledLinear(3, 2, bias=False, scale=0.5)
    ts = to_torch(s)
    assert isinstance(ts, torch.nn.Linear) and ts.scale == 0.5 and ts.bias is None
    x = x32(4, 3)
    np.testing.assert_allclose(ts(torch.tensor(x)).detach().numpy(),
                               s(lk.tensor(x)).detach().numpy(), rtol=1e-6)
    offset = 3.0

    class Local(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(x) + offset

    loc = Local()
    tl = to_torch(nn.Sequential(loc, nn.ReLU()))
    np.testing.assert_allclose(tl(torch.tensor(x)).detach().numpy(),
                               nn.Sequential(loc, nn.ReLU())(lk.tensor(x)).detach().numpy(),
                               rtol=1e-6)


class TorchMLP(torch.nn.Module):
    """A PyTorch class whose constructor arguments are attributes of the same names."""

    def __init__(self, d_in, hidden, p=0.0):
        super().__init__()
        self.d_in, self.hidden, self.p = d_in, hidden, p
        self.net = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(),
                                       torch.nn.Dropout(p), torch.nn.Linear(hidden, 1))

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def test_from_torch_rebuilds_a_torch_class_when_its_arguments_are_attributes():
    t = TorchMLP(3, 8).eval()
    m = from_torch(t)
    assert type(m).__name__ == "TorchMLP" and isinstance(m, nn.Module)
    assert isinstance(m.net[0], nn.Linear) and m.training is False
    x = x32(6, 3)
    np.testing.assert_allclose(m(lk.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-7)

    class Opaque(torch.nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc = torch.nn.Linear(width, 1)     # `width` is not kept anywhere

    with pytest.raises(TypeError, match="arguments it was created with are unknown.*'width'"):
        from_torch(Opaque(3))


def test_clear_error_when_the_source_is_unavailable():
    ns = {"nn": nn}
    exec("class Hidden(nn.Module):\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.fc = nn.Linear(2, 2)\n", ns)
    with pytest.raises(TypeError, match="Hidden.*source code is not available.*"
                                        "state_dict_to_torch"):
        to_torch(ns["Hidden"]())
    with pytest.raises(TypeError, match=r"Hidden \(at '1'\)"):
        to_torch(nn.Sequential(nn.ReLU(), ns["Hidden"]()))


def _notebook_cell(name, startswith):
    """The one code cell of a workshop notebook that starts with ``startswith``."""
    nb = nbformat.read(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(startswith)]
    assert len(cells) == 1
    return cells[0]


TINYGPT = _notebook_cell("09_char_transformer", "class TinyGPT").split("\nmodel = ")[0]


def test_tinygpt_defined_in_a_notebook_cell_goes_to_torch(ipython_shell):
    ip = ipython_shell
    r = ip.run_cell("import labkit as lk\nfrom labkit import nn\n" + TINYGPT +
                    "\nlk.manual_seed(0)\ngpt = TinyGPT(20)\n")
    assert r.success, r.error_in_exec
    gpt = ip.user_ns["gpt"]
    tg = to_torch(gpt)
    assert type(tg).__name__ == "TinyGPT" and isinstance(tg.layer,
                                                         torch.nn.TransformerEncoderLayer)
    idx = np.random.default_rng(0).integers(0, 20, (3, 32))
    out_t = tg(torch.tensor(idx))
    out_l = gpt(lk.tensor(idx))
    assert tuple(out_t.shape) == (3, 32, 20)
    np.testing.assert_allclose(out_t.detach().numpy(), out_l.detach().numpy(), rtol=1e-4,
                               atol=1e-5)


DDP_GPT = textwrap.dedent("""
    import datetime, sys
    import numpy as np
    import torch, torch.distributed as dist
    import labkit as lk
    from labkit import nn
    from labkit.interop import to_torch, from_torch

""") + TINYGPT + textwrap.dedent("""


    def main(rank, world, port, out):
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world, timeout=datetime.timedelta(seconds=90))
        try:
            lk.manual_seed(0)                     # the same labkit model in every process
            model = torch.nn.parallel.DistributedDataParallel(to_torch(TinyGPT(12)))
            opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
            rng = np.random.default_rng(0)        # the same data everywhere; each takes a shard
            X = torch.from_numpy(rng.integers(0, 12, (3, 2 * world, 33)))
            for step in range(3):
                xb = X[step, 2 * rank:2 * rank + 2]
                logits = model(xb[:, :-1])
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 12),
                                                         xb[:, 1:].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
            lk.save(from_torch(model.module).state_dict(), out)
            dist.barrier()
        finally:
            dist.destroy_process_group()


    if __name__ == "__main__":
        torch.set_num_threads(1)
        main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
""")


def test_notebook10_path_tinygpt_exported_then_trained_with_ddp(tmp_path):
    """Rank 0 is a fresh interpreter, rank 1 this one (torch is already imported here)."""
    script = tmp_path / "ddp_gpt.py"
    script.write_text(DDP_GPT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    outs = [tmp_path / f"rank{r}.safetensors" for r in range(2)]
    proc = subprocess.Popen([sys.executable, str(script), "0", "2", str(port), str(outs[0])],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        ns = {"__name__": "ddp_gpt"}
        exec(compile(DDP_GPT, str(script), "exec"), ns)
        ns["main"](1, 2, port, str(outs[1]))
    finally:
        try:
            log = proc.communicate(timeout=90)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            log = proc.communicate()[0]
    assert proc.returncode == 0, log
    a, b = lk.load(outs[0]), lk.load(outs[1])
    lk.manual_seed(0)
    init = ns["TinyGPT"](12).state_dict()
    assert list(a) == list(init)
    for k in a:
        assert lk.equal(a[k], b[k]), f"replicas disagree on {k}"
    assert not lk.allclose(a["head.weight"], init["head.weight"])
