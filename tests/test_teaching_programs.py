"""Teaching programs of the kinds issue 12 names, written afresh for labkit's tests, each run
twice -- ``program(labkit)`` and ``program(torch)`` -- and required to print the same lines.

* a character-level bigram language model from counts (``N[ix1, ix2] += 1``, normalisation,
  log-likelihood, the same model as a one-layer net, sampling with ``multinomial``);
* an MLP with batch norm and a hand-written backward pass checked against autograd
  (``dlogits[range(n), Yb] -= 1``, ``dC[ix] += demb[k, j]``);
* linear regression from scratch (``torch.normal(..., requires_grad=True)``, minibatch SGD with
  ``param -= lr * param.grad / batch_size`` under ``no_grad``);
* a bag-of-words classifier with a word-count loop and a confusion matrix;
* an MLP language model with batch norm trained step by step (learning-rate sweep values,
  running statistics under ``no_grad``, update-to-data ratios, greedy generation).

Random inputs come from NumPy (or Python's ``random``, seeded) and are converted, since labkit's
random streams are not PyTorch's; the one place a program samples with ``multinomial`` checks
labkit's samples for reproducibility and distribution instead of comparing them to torch's.
"""
import random
import re

import numpy as np
import pytest

import labkit

torch = pytest.importorskip("torch")

NAMES = """ada alba alma amara anna ava bea bella cara clara cora dana della dora eda ella
elsa emma enna eva fay flora gina ida ila ines iris isla ivy jana jo juno kara kira lana lea
lena lila lina lola lora luna mara maria maya mia mina mira nadia nia nina noa nora ola olga
olivia ora pia rana rhea rita rosa sara sia sofia tara tea thea una vera vida viola yara zara
zoe zora""".split()


class Printer:
    """``out(x)`` collects what a program prints, with the module's name taken out of reprs."""

    def __init__(self):
        self.lines = []

    def __call__(self, *xs):
        line = " ".join(str(x) for x in xs)
        self.lines.append(re.sub(r"\b(torch|labkit)\.", "", line))


_NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?|\b(?:nan|inf)\b")


def same_line(lk, th):
    """The same words, and the same numbers to the last digit printed (float32 sums and products
    round differently in NumPy's and PyTorch's kernels, by an ulp or so, which can also make
    PyTorch print ``1.`` where labkit prints ``1.0000``)."""
    if _NUMBER.sub("#", lk) != _NUMBER.sub("#", th):
        return False
    for a, b in zip(_NUMBER.findall(lk), _NUMBER.findall(th)):
        if a == b:
            continue
        digits = max(len(x.split(".")[1]) if "." in x and "e" not in x else 0 for x in (a, b))
        fa, fb = float(a), float(b)
        if not abs(fa - fb) <= max(1.01 * 10.0 ** -digits, 1e-5 * max(abs(fa), abs(fb))):
            return False
    return True


def run_both(program, *args):
    printed = []
    for m in (labkit, torch):
        out = Printer()
        program(m, out, *args)
        printed.append(out.lines)
    assert len(printed[0]) == len(printed[1])
    for lk, th in zip(*printed):
        assert same_line(lk, th), f"labkit: {lk}\ntorch:  {th}"
    return printed[0]


# ----------------------------------------------------------------------------- bigram model
def _vocab(words):
    chars = sorted(set("".join(words)))
    stoi = {ch: i + 1 for i, ch in enumerate(chars)}
    stoi["."] = 0
    return stoi, {i: ch for ch, i in stoi.items()}


def bigram_counts(torch, out, words):
    F = torch.nn.functional
    stoi, itos = _vocab(words)
    V = len(stoi)
    N = torch.zeros((V, V), dtype=torch.int32)
    for w in words:
        seq = ["."] + list(w) + ["."]
        for c1, c2 in zip(seq, seq[1:]):
            ix1, ix2 = stoi[c1], stoi[c2]
            N[ix1, ix2] += 1
    out(N[0])
    out(N.sum(), N.max(), N[stoi["a"]].argmax())
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    out(P[0, :6])
    out(P.sum(1)[:4])

    log_likelihood = 0.0
    n = 0
    for w in words[:10]:
        seq = ["."] + list(w) + ["."]
        for c1, c2 in zip(seq, seq[1:]):
            prob = P[stoi[c1], stoi[c2]]
            logprob = torch.log(prob)
            log_likelihood += logprob
            n += 1
            if n <= 3:
                out(f"{c1}{c2}: {prob:.4f} {logprob:.4f}")
    out(f"{log_likelihood=}")
    nll = -log_likelihood
    out(f"{nll / n:.6f}")

    # the same model as a single linear layer trained by gradient descent
    xs, ys = [], []
    for w in words:
        seq = ["."] + list(w) + ["."]
        for c1, c2 in zip(seq, seq[1:]):
            xs.append(stoi[c1])
            ys.append(stoi[c2])
    xs, ys = torch.tensor(xs), torch.tensor(ys)
    num = xs.nelement()
    W = torch.tensor(np.random.default_rng(7).standard_normal((V, V)), dtype=torch.float32,
                     requires_grad=True)
    for k in range(15):
        xenc = F.one_hot(xs, num_classes=V).float()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
        W.grad = None
        loss.backward()
        W.data += -20 * W.grad
        if k % 5 == 0:
            out(f"step {k}: loss {loss.item():.4f}")
    return P, itos


def test_bigram_language_model_prints_torchs_numbers():
    lines = run_both(bigram_counts, NAMES)
    assert lines[0].startswith("tensor([0, ") and "dtype=int32" in lines[0]


def _sample(m, P, itos, seed, n):
    g = m.Generator().manual_seed(seed)
    names = []
    for _ in range(n):
        out, ix = [], 0
        while True:
            p = P[ix]
            ix = m.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0:
                break
        names.append("".join(out))
    return names


def test_bigram_sampling_is_seeded_and_follows_the_counts():
    P, itos = bigram_counts(labkit, Printer(), NAMES)
    first = _sample(labkit, P, itos, 2147483647, 8)
    assert first == _sample(labkit, P, itos, 2147483647, 8)
    assert all(name.endswith(".") and set(name) <= set(itos.values()) for name in first)
    g = labkit.Generator().manual_seed(3)
    draws = labkit.multinomial(P[0], num_samples=20000, replacement=True, generator=g)
    freq = labkit.bincount(draws, minlength=P.shape[1]).float() / 20000
    assert labkit.allclose(freq, P[0], atol=0.015)


# ----------------------------------------------------------------------------- manual backprop
def _dataset(words, stoi, block_size):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return X, Y


def mlp_manual_backprop(torch, out, words):
    F = torch.nn.functional
    stoi, _ = _vocab(words)
    V, block_size, n_embd, n_hidden = len(stoi), 3, 5, 32
    X, Y = _dataset(words, stoi, block_size)
    X, Y = torch.tensor(X), torch.tensor(Y)
    rng = np.random.default_rng(2147483647)

    def param(*shape, scale=1.0):
        return torch.tensor(rng.standard_normal(shape) * scale, dtype=torch.float32)

    C = param(V, n_embd)
    W1 = param(n_embd * block_size, n_hidden, scale=(5 / 3) / (n_embd * block_size) ** 0.5)
    b1 = param(n_hidden, scale=0.1)
    W2 = param(n_hidden, V, scale=0.1)
    b2 = param(V, scale=0.1)
    bngain = param(1, n_hidden, scale=0.1) + 1.0
    bnbias = param(1, n_hidden, scale=0.1)
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.requires_grad = True
    out(sum(p.nelement() for p in parameters))

    n = 32
    ix = torch.tensor(rng.integers(0, X.shape[0], n))
    Xb, Yb = X[ix], Y[ix]

    # forward, broken into steps that each get a gradient
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff ** 2
    bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum ** -1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    inter = [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes,
             logits, h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
             embcat, emb]
    for p in parameters:
        p.grad = None
    for t in inter:
        t.retain_grad()
    loss.backward()
    out(f"loss {loss.item():.6f}")

    def cmp(name, dt, t):
        exact = torch.all(dt == t.grad).item()
        close = torch.allclose(dt, t.grad, rtol=1e-4, atol=1e-6)
        out(f"{name:15s} | approximate: {str(close):5s} | shape {tuple(dt.shape)}")
        return exact

    # backward by hand
    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[range(n), Yb] = -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-counts_sum ** -2) * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h ** 2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
    dbndiff += (2 * bndiff) * dbndiff2
    dhprebn = dbndiff.clone()
    dbnmeani = (-dbndiff).sum(0)
    dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            ix = Xb[k, j]
            dC[ix] += demb[k, j]
    for name, d, t in [("logprobs", dlogprobs, logprobs), ("probs", dprobs, probs),
                       ("counts_sum_inv", dcounts_sum_inv, counts_sum_inv),
                       ("counts_sum", dcounts_sum, counts_sum), ("counts", dcounts, counts),
                       ("norm_logits", dnorm_logits, norm_logits),
                       ("logit_maxes", dlogit_maxes, logit_maxes), ("logits", dlogits, logits),
                       ("h", dh, h), ("W2", dW2, W2), ("b2", db2, b2),
                       ("hpreact", dhpreact, hpreact), ("bngain", dbngain, bngain),
                       ("bnbias", dbnbias, bnbias), ("bnraw", dbnraw, bnraw),
                       ("bnvar_inv", dbnvar_inv, bnvar_inv), ("bnvar", dbnvar, bnvar),
                       ("bndiff2", dbndiff2, bndiff2), ("bndiff", dbndiff, bndiff),
                       ("bnmeani", dbnmeani, bnmeani), ("hprebn", dhprebn, hprebn),
                       ("embcat", dembcat, embcat), ("W1", dW1, W1), ("b1", db1, b1),
                       ("emb", demb, emb), ("C", dC, C)]:
        cmp(name, d, t)

    # the fused cross-entropy backward
    loss_fast = F.cross_entropy(logits, Yb)
    out(f"fused loss diff {(loss_fast - loss).abs().item() < 1e-6}")
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    cmp("logits (fused)", dlogits, logits)

    # the fused batch-norm backward
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw *
                                        (dhpreact * bnraw).sum(0))
    cmp("hprebn (fused)", dhprebn, hprebn)

    # a few training steps with the hand-written gradients
    for p in parameters:
        p.grad = None
    with torch.no_grad():
        for step in range(3):
            emb = C[Xb]
            embcat = emb.view(emb.shape[0], -1)
            hprebn = embcat @ W1 + b1
            bnmean = hprebn.mean(0, keepdim=True)
            bnvar = hprebn.var(0, keepdim=True, unbiased=True)
            bnvar_inv = (bnvar + 1e-5) ** -0.5
            bnraw = (hprebn - bnmean) * bnvar_inv
            hpreact = bngain * bnraw + bnbias
            h = torch.tanh(hpreact)
            logits = h @ W2 + b2
            loss = F.cross_entropy(logits, Yb)
            dlogits = F.softmax(logits, 1)
            dlogits[range(n), Yb] -= 1
            dlogits /= n
            dh = dlogits @ W2.T
            dW2, db2 = h.T @ dlogits, dlogits.sum(0)
            dhpreact = (1.0 - h ** 2) * dh
            dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
            dbnbias = dhpreact.sum(0, keepdim=True)
            dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) *
                                                bnraw * (dhpreact * bnraw).sum(0))
            dembcat = dhprebn @ W1.T
            dW1, db1 = embcat.T @ dhprebn, dhprebn.sum(0)
            demb = dembcat.view(emb.shape)
            dC = torch.zeros_like(C)
            dC.index_add_(0, Xb.view(-1), demb.view(-1, n_embd))
            for p, grad in zip(parameters, [dC, dW1, db1, dW2, db2, dbngain, dbnbias]):
                p.data += -0.1 * grad
            out(f"step {step}: loss {loss.item():.5f}")


def test_mlp_with_a_hand_written_backward_matches_autograd_and_torch():
    lines = run_both(mlp_manual_backprop, NAMES)
    checks = [line for line in lines if "approximate" in line]
    assert len(checks) == 28 and all("approximate: True" in line for line in checks), checks


# ----------------------------------------------------------------------------- MLP training loop
def mlp_batchnorm_training(torch, out):
    F = torch.nn.functional
    words = NAMES[:12]
    stoi, itos = _vocab(words)
    V, block_size = len(stoi), 3
    Xtr, Ytr = (torch.tensor(a) for a in _dataset(words[:10], stoi, block_size))
    Xdev, Ydev = (torch.tensor(a) for a in _dataset(words[10:], stoi, block_size))
    rng = np.random.default_rng(0)
    C = torch.tensor(rng.standard_normal((V, 2)), dtype=torch.float32)
    W1 = torch.from_numpy(rng.standard_normal((6, 50)).astype(np.float32)) * (5 / 3) / 6 ** 0.5
    b1 = torch.tensor(rng.standard_normal(50)).float() * 0.01
    W2 = torch.tensor(rng.standard_normal((50, V)).astype(np.float32)) * 0.01
    b2 = torch.zeros(V)
    bngain, bnbias = torch.ones((1, 50)), torch.zeros((1, 50))
    bnmean_running, bnstd_running = torch.zeros((1, 50)), torch.ones((1, 50))
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    out(sum(p.nelement() for p in parameters))
    for p in parameters:
        p.requires_grad = True
    lre = torch.linspace(-3, 0, 10)
    lrs = 10 ** lre
    out(lrs[:3])
    lossi, ud = [], []
    batches = rng.integers(0, Xtr.shape[0], (20, 8))
    for i in range(20):
        ix = torch.tensor(batches[i])
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1 + b1
        bnmeani = hpreact.mean(0, keepdim=True)
        bnstdi = hpreact.std(0, keepdim=True)
        hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
        with torch.no_grad():
            bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
            bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = lrs[-3].item() if i < 10 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
        with torch.no_grad():
            ud.append([((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters])
        if i % 5 == 0:
            out(f"{i:7d}/{20:7d}: {loss.item():.4f}")
    out(torch.tensor(lossi).view(-1, 5).mean(1))
    out((h.abs() > 0.99).float().mean())

    @torch.no_grad()
    def split_loss(split):
        x, y = {"train": (Xtr, Ytr), "val": (Xdev, Ydev)}[split]
        emb = C[x]
        hpreact = emb.view(emb.shape[0], -1) @ W1 + b1
        hpreact = bngain * (hpreact - bnmean_running) / bnstd_running + bnbias
        logits = torch.tanh(hpreact) @ W2 + b2
        out(split, round(F.cross_entropy(logits, y).item(), 4))

    split_loss("train")
    split_loss("val")
    out(round(ud[-1][1], 3), W1.grad.std() / W1.data.std() > 0)
    context, name = [0] * block_size, []
    for _ in range(5):
        emb = C[torch.tensor([context])]
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        probs = F.softmax(h @ W2 + b2, dim=1)
        ix = torch.argmax(probs, dim=1).item()
        context = context[1:] + [ix]
        name.append(itos[ix])
    out("".join(name))


def test_mlp_training_loop_with_batch_norm_prints_torchs_numbers():
    """An MLP language model trained with ``p.data += -lr * p.grad``, running batch-norm
    statistics under ``no_grad``, a ``@no_grad`` evaluation and greedy generation."""
    lines = run_both(mlp_batchnorm_training)
    assert lines[0].isdigit() and lines[-4].startswith("train ")


# ----------------------------------------------------------------------------- linear regression
def linear_regression_scratch(torch, out):
    rng = np.random.default_rng(0)
    true_w, true_b = torch.tensor([2, -3.4]), 4.2
    num_examples = 300
    features = torch.tensor(rng.standard_normal((num_examples, 2)), dtype=torch.float32)
    labels = torch.matmul(features, true_w) + true_b
    labels += torch.tensor(rng.normal(0, 0.01, num_examples), dtype=torch.float32)
    labels = labels.reshape((-1, 1))
    out("features:", features[0], "\nlabel:", labels[0])

    def data_iter(batch_size, features, labels, seed):
        num = len(features)
        indices = list(range(num))
        random.Random(seed).shuffle(indices)
        for i in range(0, num, batch_size):
            batch_indices = torch.tensor(indices[i: min(i + batch_size, num)])
            yield features[batch_indices], labels[batch_indices]

    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    out(w.requires_grad, w.is_leaf, w.shape, b)
    with torch.no_grad():                      # the same start in both libraries
        w.copy_(torch.tensor(rng.normal(0, 0.01, (2, 1))))

    def linreg(X, w, b):
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    lr, num_epochs, batch_size = 0.03, 3, 10
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels, seed=epoch):
            l = squared_loss(linreg(X, w, b), y)   # noqa: E741 - the textbook's name
            l.sum().backward()
            sgd([w, b], lr, batch_size)
        with torch.no_grad():
            train_l = squared_loss(linreg(features, w, b), labels)
            out(f"epoch {epoch + 1}, loss {float(train_l.mean()):f}")
    out(f"error in estimating w: {true_w - w.reshape(true_w.shape)}")
    out(f"error in estimating b: {true_b - b}")


def test_linear_regression_from_scratch_prints_torchs_numbers():
    lines = run_both(linear_regression_scratch)
    losses = [float(line.split()[-1]) for line in lines if line.startswith("epoch")]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]


# ----------------------------------------------------------------------------- bag of words
def bag_of_words(torch, out):
    nn, F = torch.nn, torch.nn.functional
    data = [("me gusta comer en la cafeteria".split(), "SPANISH"),
            ("give it to me".split(), "ENGLISH"),
            ("no creo que sea una buena idea".split(), "SPANISH"),
            ("no it is not a good idea to get lost at sea".split(), "ENGLISH"),
            ("yo creo que si".split(), "SPANISH"),
            ("it is lost on me".split(), "ENGLISH")]
    word_to_ix = {}
    for sent, _ in data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    label_to_ix = {"SPANISH": 0, "ENGLISH": 1}

    def bow_vector(sentence):
        vec = torch.zeros(len(word_to_ix))
        for word in sentence:
            vec[word_to_ix[word]] += 1
        return vec.view(1, -1)

    class BoWClassifier(nn.Module):
        def __init__(self, num_labels, vocab_size):
            super().__init__()
            self.linear = nn.Linear(vocab_size, num_labels)

        def forward(self, bow_vec):
            return F.log_softmax(self.linear(bow_vec), dim=1)

    model = BoWClassifier(2, len(word_to_ix))
    rng = np.random.default_rng(1)
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor(rng.uniform(-0.2, 0.2, (2, len(word_to_ix)))))
        model.linear.bias.copy_(torch.tensor(rng.uniform(-0.2, 0.2, 2)))
    out(bow_vector(data[0][0]))
    loss_function = nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(30):
        total = 0.0
        for instance, label in data:
            model.zero_grad()
            log_probs = model(bow_vector(instance))
            loss = loss_function(log_probs, torch.tensor([label_to_ix[label]]))
            total += loss
            loss.backward()
            optimizer.step()
        if epoch % 10 == 0:
            out(f"epoch {epoch}: total loss {total.item():.5f}")

    confusion = torch.zeros(2, 2)
    tests = data + [("la idea es buena".split(), "SPANISH"), ("it is me".split(), "ENGLISH"),
                    ("no sea".split(), "ENGLISH")]
    with torch.no_grad():
        for instance, label in tests:
            guess = model(bow_vector([w for w in instance if w in word_to_ix])).argmax(1)
            confusion[label_to_ix[label]][guess.item()] += 1
    out(confusion)
    for i in range(2):
        confusion[i] = confusion[i] / confusion[i].sum()
    out(confusion)
    out(f"accuracy {confusion.diag().mean():.4f}")
    out(next(model.parameters())[:, word_to_ix["creo"]])


def test_bag_of_words_with_confusion_matrix_prints_torchs_numbers():
    run_both(bag_of_words)
