# %% [markdown]
# # 09 · A tiny character transformer
#
# A language model predicts the next character from the ones before. Ours reads Python's own
# documentation (assembled from the standard library, offline), uses one transformer layer
# with causal self-attention, and learns enough in under a minute to produce word-like text.

# %%
import math
import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
lk.manual_seed(0)
text = lk.datasets.text_corpus(max_chars=60_000)
ds = lk.datasets.CharDataset(text, block_size=32)
print(len(text), "characters,", ds.vocab_size, "distinct")

# %%
class TinyGPT(nn.Module):
    def __init__(self, vocab, d=64, heads=2, block=32):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0,
                                                batch_first=True, norm_first=True)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(block))

    def forward(self, idx):
        T = idx.shape[1]
        h = self.tok(idx) + self.pos(lk.arange(T))
        h = self.layer(h, src_mask=self.mask[:T, :T], is_causal=True)
        return self.head(h)

model = TinyGPT(ds.vocab_size)
opt = lk.optim.AdamW(model.parameters(), lr=3e-3)
loader = DataLoader(ds, batch_size=32, shuffle=True)
mon = lk.viz.Monitor("char transformer")
att = lk.viz.attention(model, title="while training (tokens: positions)")
display(mon, att)

# %%
steps = 300
for step, (xb, yb) in enumerate(mon.track(loader, epochs=1, total=steps)):
    logits = model(xb)
    loss = nn.functional.cross_entropy(logits.reshape(-1, ds.vocab_size), yb.reshape(-1))
    opt.zero_grad(); loss.backward(); opt.step()
    mon.log(loss=loss.item())
    if step + 1 == steps:
        break
att.remove()    # stop following the model: sampling below would redraw it
print(f"loss {mon.history['loss'][0]:.2f} -> {mon.history['loss'][-1]:.2f}  (uniform guessing: {math.log(ds.vocab_size):.2f})")

# %% [markdown]
# ## Sampling

# %%
@lk.no_grad()
def sample(prompt, n=200, temperature=0.8):
    model.eval()
    idx = ds.encode(prompt).reshape(1, -1)
    for _ in range(n):
        logits = model(idx[:, -32:])[:, -1] / temperature
        nxt = lk.multinomial(logits.softmax(-1), 1)
        idx = lk.cat([idx, nxt], dim=1)
    model.train()
    return ds.decode(idx[0])

print(sample("Return the "))

# %% [markdown]
# ## Attention maps
#
# The view under the loss curve followed the layer's attention while it trained: from nearly
# uniform weights to sharper patterns. Here it is on one piece of text, with the characters as
# tokens. Row = query position, column = key; the upper triangle is empty (hatched) because of the
# causal mask. Hover a character to see what it attends to and what attends to it; click a head
# to shade the text by that head alone. Does a head look mostly at the character just before?

# %%
x, _ = ds[1000]
view = lk.viz.attention(model, list(ds.decode(x)), title="after training")
with lk.no_grad():
    model(x[None])
view

# %% [markdown]
# ## Exercise: scaled dot-product attention

# %% exercise="attention"
def attention(q, k, v, causal):
    """q, k, v (B, T, d) -> softmax(q k^T / sqrt(d)) v; with causal=True no position sees later ones."""
    ...    # your turn

ex.check("attention", attention)

# %% [markdown]
# ## Exercise: the causal mask
#
# The model above adds a `(T, T)` mask to the attention scores, made by
# `nn.Transformer.generate_square_subsequent_mask`: 0 where a query may look, `-inf` where it may
# not (after the softmax those become exactly 0). Write it yourself.

# %% exercise="causal_mask"
def causal_mask(T):
    ...    # your turn

ex.check("causal_mask", causal_mask)

# %% [markdown]
# Next: **10 · from labkit to PyTorch**.
