# %% [markdown]
# # 10 · From labkit to PyTorch
#
# Everything you wrote in this workshop is PyTorch code: labkit follows PyTorch's names,
# signatures and module paths. Change one import and it runs on PyTorch — on GPUs and across
# many machines. This notebook shows the same training code on both, moves a trained model across
# with its weights, and shows how a model that outgrows one machine continues with PyTorch's
# distributed stack.

# %%
import importlib.util
import labkit
from labkit import exercises as ex
HAVE_TORCH = importlib.util.find_spec("torch") is not None
print("PyTorch installed:", HAVE_TORCH)

# %% [markdown]
# ## The same code, two libraries

# %%
def train_moons(torch, steps=200):
    nn = torch.nn
    torch.manual_seed(0)
    X = torch.randn(256, 2)
    y = (X[:, 0] * X[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(X), y)
        opt.zero_grad(); loss.backward(); opt.step()
    return model, loss.item()

lk_model, lk_loss = train_moons(labkit)
print("labkit  final loss:", round(lk_loss, 4))
if HAVE_TORCH:
    import torch
    t_model, t_loss = train_moons(torch)
    print("PyTorch final loss:", round(t_loss, 4))

# %% [markdown]
# ## Exercise: code for both libraries
#
# Write each function once, with the names both libraries share; the cell after the checks runs
# them on the labkit model and on the PyTorch one. First: how many numbers does a model learn?

# %% exercise="count_parameters"
def count_parameters(model):
    ...    # your turn

ex.check("count_parameters", count_parameters)

# %% [markdown]
# Next: the accuracy of a batch of predictions, as a plain Python number (to print or log).

# %% exercise="accuracy"
def accuracy(logits, y):
    ...    # your turn

ex.check("accuracy", accuracy)

# %%
X = labkit.randn(256, 2, generator=labkit.Generator().manual_seed(1))
y = (X[:, 0] * X[:, 1] > 0).long()
print("labkit : ", count_parameters(lk_model), "parameters, accuracy", accuracy(lk_model(X), y))
if HAVE_TORCH:
    Xt, yt = torch.from_numpy(X.numpy()), torch.from_numpy(y.numpy())
    print("PyTorch:", count_parameters(t_model), "parameters, accuracy", accuracy(t_model(Xt), yt))

# %% [markdown]
# ## Moving a model across
#
# `labkit.interop.to_torch` builds the equivalent `torch.nn` module with the same weights;
# `from_torch` goes back. Outputs agree to float32 precision.

# %%
if HAVE_TORCH:
    from labkit.interop import to_torch, from_torch
    tm = to_torch(lk_model)
    X = labkit.randn(5, 2)
    print(tm)
    diff = (tm(torch.from_numpy(X.numpy())).detach().numpy() - lk_model(X).detach().numpy())
    print("max difference:", abs(diff).max())
    back = from_torch(tm)
    print("round trip equal:", bool((back(X) == lk_model(X)).all()))

# %% [markdown]
# ## Beyond one machine: DistributedDataParallel
#
# Data parallelism runs one copy of the model per process; each sees a different shard of every
# batch, and gradients are averaged across processes after `backward()`, so all copies stay
# identical. On CPUs the `gloo` backend does the communication. The script below trains an
# exported labkit model in **2 processes** on this machine; on a cluster the same script runs
# with `torchrun --nnodes=... --nproc-per-node=...`.

# %%
script = r'''
import os, sys, torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
import labkit
from labkit.interop import to_torch

def main(rank, world, port):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    labkit.manual_seed(0)   # same initial weights on every rank
    model = to_torch(labkit.nn.Sequential(labkit.nn.Linear(2, 16), labkit.nn.ReLU(), labkit.nn.Linear(16, 2)))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(rank)          # each rank: its own data shard
    for step in range(5):
        X = torch.randn(64, 2, generator=g); y = (X[:, 0] > 0).long()
        loss = torch.nn.functional.cross_entropy(ddp(X), y)
        opt.zero_grad(); loss.backward(); opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        print("replicas identical:", all(torch.equal(gathered[0], t) for t in gathered[1:]))
    dist.destroy_process_group()

if __name__ == "__main__":
    import torch.multiprocessing as mp, socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    mp.spawn(main, args=(2, port), nprocs=2)
'''
import pathlib, subprocess, sys, tempfile
if HAVE_TORCH:
    path = pathlib.Path(tempfile.mkdtemp()) / "ddp_demo.py"
    path.write_text(script)
    r = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    print(r.stdout or r.stderr[-2000:])

# %% [markdown]
# That's the path: from a tensor, through autograd, layers and optimizers, to transformers —
# and on to PyTorch when your models grow. Happy hacking!
