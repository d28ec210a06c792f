# %% [markdown]
# # 11 · Debugging a training run
#
# Training fails in a handful of classic ways. Each section below *makes* one failure on purpose,
# shows how to *see* it with labkit's tools, and *fixes* it; then an exercise asks you to write
# the fix yourself.
#
# | failure | how you see it |
# |---|---|
# | the loss turns into NaN | anomaly mode names the op, the cell and the line |
# | exploding / vanishing gradients | `lk.viz.watch` flags the layers |
# | dead ReLUs | `watch`'s dead fraction |
# | a wrong custom backward | gradcheck on the graph: the node turns red |
# | a shape error | the error names both shapes |
# | gradients doubled by re-running a cell | `%load_ext labkit` warns |
# | a learning rate that diverges | `lk.viz.lr_find` |

# %%
import math
import numpy as np
import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
%load_ext labkit
lk.manual_seed(0)
data = lk.datasets.moons(n_samples=256, noise=0.2, seed=0)
loader = DataLoader(data, batch_size=32, shuffle=True, generator=lk.Generator().manual_seed(0))
X, y = data.X, data.y

# %% [markdown]
# ## 1. The loss is NaN: a hunt with anomaly mode
#
# A hand-written cross-entropy takes the log of a softmax. With confident logits a probability
# rounds to exactly 0, `log(0) = -inf`, and `0 * -inf` is NaN. The loss is NaN, and so is every
# gradient after it: nothing says where it started.

# %%
def my_cross_entropy(logits, y):
    probs = logits.softmax(dim=-1)
    onehot = nn.functional.one_hot(y, 2).float()
    return -(onehot * probs.log()).sum(dim=-1).mean()

model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
logits = model(X) * 200              # an over-confident model
loss = my_cross_entropy(logits, y)
print("loss:", loss.item())

# %% [markdown]
# **See it.** `lk.autograd.detect_anomaly()` checks every op's output and names the first one that
# made a NaN, with the cell and line that called it:

# %%
try:
    with lk.autograd.detect_anomaly():
        loss = my_cross_entropy(model(X) * 200, y)
except RuntimeError as e:
    print(e)

# %% [markdown]
# **Fix it.** Stay in log space: `log_softmax` never rounds a probability to 0 before the log
# (this is what `nn.functional.cross_entropy` does inside).

# %% exercise="log_softmax"
def log_softmax(x):
    ...    # your turn: log(softmax(x)) along the last dim, finite for any x

ex.check("log_softmax", log_softmax)

# %% [markdown]
# ## 2. Exploding and vanishing gradients, seen in `watch`
#
# Ten ReLU layers whose weights start too small: each layer shrinks the signal, forward and
# backward, and the first layers get almost no gradient. `watch` plots each layer's gradient
# norm and flags the problem layers above the plots.

# %%
def deep_relu(std, depth=10, width=64):
    layers = [nn.Linear(2, width), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(width, 2))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=std(m.in_features))
            nn.init.zeros_(m.bias)
    return model

def train(model, epochs=2, lr=0.05):
    opt = lk.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad(); loss.backward(); opt.step()
    return loss.item()

tiny = deep_relu(std=lambda fan_in: 0.01)
w_tiny = lk.viz.watch(tiny, every=2, vanish=1e-6)
w_tiny

# %%
train(tiny)
print("\n".join(w_tiny.alerts[:3]))

# %% [markdown]
# **Fix it.** Initialise so each layer keeps the scale of its input. For ReLU layers that is
# He (Kaiming) initialisation; write its standard deviation:

# %% exercise="relu_init_std"
def relu_init_std(fan_in):
    ...    # your turn

ex.check("relu_init_std", relu_init_std)

# %% [markdown]
# With the right scale (here `nn.init.kaiming_normal_`'s value) every layer learns:

# %%
good = deep_relu(std=lambda fan_in: math.sqrt(2 / fan_in))
w_good = lk.viz.watch(good, every=2, vanish=1e-6)
print("final loss", round(train(good), 3), "| alerts:", w_good.alerts or "none")
w_good

# %% [markdown]
# ## 3. Dead ReLUs
#
# A ReLU whose input is negative for every example outputs 0 and passes back no gradient: it
# never recovers. A too-large learning rate (or a large negative bias) kills many at once.
# `watch` records the *dead fraction* after each activation and flags layers that are mostly dead.

# %%
lk.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
nn.init.constant_(net[2].bias, -3.0)       # pushes layer 2's units below zero
w_dead = lk.viz.watch(net, every=1)
train(net, epochs=1)
print("\n".join(w_dead.alerts[:2]))
w_dead

# %% [markdown]
# **Count them yourself.** Given the activations after a ReLU, `(N, units)`, which fraction of
# the units never fire on this batch?

# %% exercise="dead_fraction"
def dead_fraction(acts):
    ...    # your turn

ex.check("dead_fraction", dead_fraction)

# %%
with lk.no_grad():
    print("dead after layer 2:", dead_fraction(net[3](net[2](net[1](net[0](X))))))

# %% [markdown]
# **Fix it:** no large negative biases at init, a smaller learning rate, or `nn.LeakyReLU`,
# which lets a little gradient through for negative inputs.
#
# ## 4. A wrong custom backward, caught by gradcheck on the graph
#
# A Function whose backward forgets part of its derivative trains, just worse, and nothing
# complains. `lk.viz.graph(..., gradcheck=True)` checks every op's backward against finite
# differences: the wrong one turns red.

# %%
class BuggyCube(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * grad                 # bug: d(x^3)/dx is 3x^2

layer = nn.Linear(2, 4)
view = lk.viz.graph(lambda: BuggyCube.apply(layer(X[:8])).mean(), params=layer, gradcheck=True)
print("wrong backward rules:",
      [n["op"] for n in view.nodes if n.get("check", {}).get("status") == "fail"])
view

# %% exercise="cube_function"
class Cube(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ...    # your turn

    @staticmethod
    def backward(ctx, grad):
        ...    # your turn: the right derivative

ex.check("cube_function", Cube)

# %% [markdown]
# ## 5. A shape error
#
# Images are `(N, C, H, W)`; a `Linear` layer wants `(N, features)`. The error names both shapes:

# %%
images = lk.randn(16, 1, 8, 8)
classifier = nn.Linear(64, 10)
try:
    classifier(images)
except RuntimeError as e:
    print("RuntimeError:", e)

# %% exercise="flatten_batch"
def flatten_batch(x):
    ...    # your turn: (N, C, H, W) -> (N, C*H*W)

ex.check("flatten_batch", flatten_batch)

# %% [markdown]
# ## 6. Gradients doubled by re-running a cell
#
# `backward()` *adds* into `.grad`. In a notebook it is easy to run a cell with `loss.backward()`
# twice: the second run adds the same gradient again, and the step is twice as big. With
# `%load_ext labkit` (first cell) labkit notices and warns. Try it: run the next cell twice.
# (Here it is run twice for you: `run_cell` runs the same cell source again.)

# %%
model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
opt = lk.optim.SGD(model.parameters(), lr=0.1)
step_cell = """
loss = nn.functional.cross_entropy(model(X), y)
loss.backward()
print("grad norm of the first weight:", round(model[0].weight.grad.norm().item(), 4))
"""
first = get_ipython().run_cell(step_cell)
again = get_ipython().run_cell(step_cell)

# %% [markdown]
# **Fix it:** zero the gradients before every backward, inside the step.

# %% exercise="train_step"
def train_step(model, opt, X, y):
    ...    # your turn: one step; return the loss as a float

ex.check("train_step", train_step)

# %% [markdown]
# ## 7. A learning rate that diverges, and one found with `lr_find`
#
# Too large a learning rate makes the loss jump up instead of down:

# %%
def fresh():
    lk.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2))

model = fresh()
opt = lk.optim.SGD(model.parameters(), lr=20.0)
losses = []
for xb, yb in loader:
    loss = nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad(); loss.backward(); opt.step()
    losses.append(loss.item())
print("lr=20:", [round(l, 2) for l in losses[:6]], "...")

# %% [markdown]
# **See it and fix it.** The LR range test raises the learning rate step by step and records the
# loss; the suggestion is where the loss falls fastest. The model is restored afterwards.

# %%
model = fresh()
opt = lk.optim.SGD(model.parameters(), lr=1e-3)
result = lk.viz.lr_find(model, nn.functional.cross_entropy, loader, optimizer=opt,
                        start_lr=1e-4, end_lr=10, num_iter=50)
print("suggested lr:", f"{result.suggestion:.3g}")

# %% [markdown]
# Reading the curve is the skill: where does the loss fall fastest?

# %% exercise="steepest_lr"
def steepest_lr(lrs, losses):
    ...    # your turn

ex.check("steepest_lr", steepest_lr)

# %% [markdown]
# That's the toolbox: anomaly mode for NaNs, `watch` for gradient health and dead units,
# gradcheck on the graph for backward rules, shapes in every error message, the re-run warning,
# and `lr_find`. `ex.progress()` shows what is left to do.

# %%
ex.progress()
