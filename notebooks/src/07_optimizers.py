# %% [markdown]
# # 07 · Optimizers
#
# Same model, same data, different update rules. The Monitor overlays the runs so the
# differences are plain to see. Then: how to pick a learning rate, and schedules.

# %%
import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
data = lk.datasets.moons(n_samples=512, noise=0.2, seed=0)
loader = DataLoader(data, batch_size=32, shuffle=True, generator=lk.Generator().manual_seed(0))

def make_model():
    lk.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))

mon = lk.viz.Monitor("optimizers on moons", log_y=True, smoothing=0.6)
mon

# %%
optimizers = {
    "SGD":          lambda p: lk.optim.SGD(p, lr=0.05),
    "SGD+momentum": lambda p: lk.optim.SGD(p, lr=0.05, momentum=0.9),
    "Adam":         lambda p: lk.optim.Adam(p, lr=0.005),
}
for name, make_opt in optimizers.items():
    model = make_model()
    opt = make_opt(model.parameters())
    mon.new_run(name)
    for xb, yb in mon.track(loader, epochs=8):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
        mon.log(loss=loss.item())

# %% [markdown]
# ## Exercise: momentum
#
# Momentum keeps a running velocity `v = μ·v + g` and steps along it.

# %% exercise="momentum_step"
def momentum_step(p, v, lr, mu):
    ...    # your turn: update the velocity, step along it, return the new velocity

ex.check("momentum_step", momentum_step)

# %% [markdown]
# ## Exercise: one Adam step
#
# Adam keeps two moving averages, of the gradient (`m`) and of its square (`v`), corrects their
# bias towards 0 in the first steps, and steps by `lr * m_hat / (sqrt(v_hat) + eps)`: every
# parameter gets its own step size. `t` counts the steps from 1.

# %% exercise="adam_step"
def adam_step(p, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    ...    # your turn: return the new m, v

ex.check("adam_step", adam_step)

# %% [markdown]
# ## Finding a learning rate
#
# The LR range test raises the learning rate exponentially over a few dozen steps and records
# the loss; a good learning rate sits where the loss falls fastest. The model is restored after.

# %%
model = make_model()
opt = lk.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
result = lk.viz.lr_find(model, nn.functional.cross_entropy, loader, optimizer=opt,
                        start_lr=1e-4, end_lr=10, num_iter=60)
print("suggested lr:", f"{result.suggestion:.3g}" if result.suggestion else "none (the loss never fell)")

# %% [markdown]
# ## A schedule: one-cycle
#
# Warm up, then anneal: often the fastest way to a good model.

# %%
model = make_model()
opt = lk.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sched = lk.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=8 * len(loader))
mon_s = lk.viz.Monitor("one-cycle")
mon_s

# %%
for xb, yb in mon_s.track(loader, epochs=8):
    loss = nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    mon_s.log(loss=loss.item(), lr=sched.get_last_lr()[0])

# %% [markdown]
# Next: **08 · a CNN on handwritten digits**.
