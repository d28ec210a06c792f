"""Typical wrong answers to each exercise, as a learner would type them in the notebook cell, and
the words the check's message must contain for each (the first bad element, expected vs got, and the
hint for that mistake).  The first mistake of each exercise is also run inside its notebook
(tests/test_notebooks.py); all of them run in-process in tests/test_exercises.py."""

# The name a notebook cell defines for each exercise (the check is `ex.check(exercise, defined)`).
DEFINES = {"square_function": "Square", "sigmoid_function": "Sigmoid", "cube_function": "Cube"}
VALUE = ("expected", "got")          # a value mismatch names the first bad element

MISTAKES = {
    "mul_backward": [
        ("""
def mul_backward(x, y, grad_z):
    grad_x = y
    grad_y = x
    return grad_x, grad_y
""", VALUE + ("index", "chain rule")),
        ("""
def mul_backward(x, y, grad_z):
    return grad_z * x, grad_z * y
""", VALUE + ("other",)),
        ("""
def mul_backward(x, y, grad_z):
    return -grad_z * y, -grad_z * x
""", VALUE + ("sign",)),
    ],
    "tanh_backward": [
        ("""
def tanh_backward(x, grad_y):
    return grad_y * (1 - np.tanh(x))
""", VALUE + ("index", "squared")),
        ("""
def tanh_backward(x, grad_y):
    return 1 - np.tanh(x) ** 2
""", VALUE + ("chain rule",)),
    ],
    "square_function": [
        ("""
class Square(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x
""", VALUE + ("return value 1", "grad_output")),
        ("""
class Square(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return x * grad
""", VALUE + ("2x",)),
    ],
    "sigmoid_function": [
        ("""
class Sigmoid(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + (-x).exp())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y
""", VALUE + ("(1 - y)",)),
        ("""
class Sigmoid(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + (-x).exp())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (1 - y)
""", VALUE + ("grad_output",)),
    ],
    "sgd_step": [
        ("""
def sgd_step(params, lr):
    with lk.no_grad():
        for p in params:
            p += lr * p.grad
""", VALUE + ("uphill",)),
        ("""
def sgd_step(params, lr):
    for p in params:
        p -= lr * p.grad
""", ("raised", "no_grad")),
        ("""
def sgd_step(params, lr):
    with lk.no_grad():
        for p in params:
            p -= p.grad
""", VALUE + ("learning rate",)),
        ("""
def sgd_step(params, lr):
    with lk.no_grad():
        for p in params:
            p = p - lr * p.grad
""", VALUE + ("in place",)),
    ],
    "mse_loss": [
        ("""
def mse_loss(pred, target):
    return ((pred - target) ** 2).sum()
""", VALUE + ("sum", "mean")),
        ("""
def mse_loss(pred, target):
    return (pred - target).abs().mean()
""", VALUE + ("absolute",)),
        ("""
def mse_loss(pred, target):
    return (pred - target).mean()
""", VALUE + ("cancel",)),
    ],
    "linear": [
        ("""
def linear(x, W, b):
    return x @ W.T
""", VALUE + ("index", "bias")),
        ("""
def linear(x, W, b):
    return W @ x.T + b[:, None]
""", ("shape", "transposed")),
    ],
    "softmax": [
        ("""
def softmax(x):
    e = x.exp()
    return e / e.sum(dim=-1, keepdim=True)
""", VALUE + ("subtract", "max")),
        ("""
def softmax(x):
    e = (x - x.max()).exp()
    return e / e.sum(dim=0, keepdim=True)
""", VALUE + ("row",)),
        ("""
def softmax(x):
    return (x - x.max(dim=-1, keepdim=True).values).exp()
""", VALUE + ("sums to 1",)),
        ("""
def softmax(x):
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    e / e.sum(dim=-1, keepdim=True)
""", ("returned None", "return")),
    ],
    "cross_entropy": [
        ("""
def cross_entropy(logits, targets):
    return -logits.log_softmax(dim=-1).gather(1, targets.unsqueeze(1)).sum()
""", VALUE + ("sum", "mean")),
        ("""
def cross_entropy(logits, targets):
    return logits.log_softmax(dim=-1).gather(1, targets.unsqueeze(1)).mean()
""", VALUE + ("sign",)),
    ],
    "grad_norm": [
        ("""
def grad_norm(params):
    return sum(math.sqrt((p.grad ** 2).sum().item()) for p in params)
""", VALUE + ("squares",)),
        ("""
def grad_norm(params):
    return sum((p.grad ** 2).sum().item() for p in params)
""", VALUE + ("square root",)),
    ],
    "clip_grad_norm": [
        ("""
def clip_grad_norm(params, max_norm):
    total = math.sqrt(sum((p.grad ** 2).sum().item() for p in params))
    with lk.no_grad():
        for p in params:
            norm = math.sqrt((p.grad ** 2).sum().item())
            if norm > max_norm:
                p.grad *= max_norm / norm
    return total
""", VALUE + ("same factor",)),
        ("""
def clip_grad_norm(params, max_norm):
    total = math.sqrt(sum((p.grad ** 2).sum().item() for p in params))
    with lk.no_grad():
        for p in params:
            p.grad *= max_norm / total
    return total
""", VALUE + ("below max_norm",)),
    ],
    "momentum_step": [
        ("""
def momentum_step(p, v, lr, mu):
    with lk.no_grad():
        v = mu * v + p.grad
        p -= lr * v
""", ("returned None", "return")),
        ("""
def momentum_step(p, v, lr, mu):
    with lk.no_grad():
        v = mu * v + p.grad
        p += lr * v
    return v
""", VALUE + ("sign",)),
    ],
    "adam_step": [
        ("""
def adam_step(p, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    with lk.no_grad():
        m = beta1 * m + (1 - beta1) * p.grad
        v = beta2 * v + (1 - beta2) * p.grad ** 2
        p -= lr * m / (v.sqrt() + eps)
    return m, v
""", VALUE + ("bias correction",)),
        ("""
def adam_step(p, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    with lk.no_grad():
        m = beta1 * m + (1 - beta1) * p.grad
        v = beta2 * v + (1 - beta2) * p.grad ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p -= lr * m_hat / (v_hat + eps)
    return m, v
""", VALUE + ("square root",)),
    ],
    "conv_output_size": [
        ("""
def conv_output_size(size, kernel_size, stride, padding, dilation):
    return size - kernel_size + 1
""", ("case 2", "expected 32, got 30", "padding")),
    ],
    "correlate2d": [
        ("""
def correlate2d(x, w):
    kh, kw = w.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i:i + kh, j:j + kw] * w[::-1, ::-1]).sum()
    return out
""", VALUE + ("index", "flipped", "cross-correlation")),
        ("""
def correlate2d(x, w):
    kh, kw = w.shape
    out = np.zeros((x.shape[0] - kh, x.shape[1] - kw))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i:i + kh, j:j + kw] * w).sum()
    return out
""", ("shape (2, 2)", "should have shape (3, 3)", "H - kh + 1")),
    ],
    "attention": [
        ("""
def attention(q, k, v, causal):
    att = q @ k.transpose(-2, -1)
    if causal:
        T = q.shape[-2]
        att = att.masked_fill(lk.triu(lk.ones(T, T, dtype=lk.bool), 1), float("-inf"))
    return att.softmax(dim=-1) @ v
""", VALUE + ("index", "sqrt")),
        ("""
def attention(q, k, v, causal):
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return att.softmax(dim=-1) @ v
""", VALUE + ("case 2", "causal")),
    ],
    "causal_mask": [
        ("""
def causal_mask(T):
    return lk.triu(lk.full((T, T), float("-inf")))
""", ("expected 0, got -inf", "strictly")),
        ("""
def causal_mask(T):
    return lk.tril(lk.full((T, T), float("-inf")), diagonal=-1)
""", VALUE + ("past",)),
    ],
    "count_parameters": [
        ("""
def count_parameters(model):
    return len(list(model.parameters()))
""", ("expected 162, got 4", "numel")),
        ("""
def count_parameters(model):
    return sum(p.numel() for name, p in model.named_parameters() if "weight" in name)
""", VALUE + ("biases",)),
    ],
    "accuracy": [
        ("""
def accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().mean()
""", ("tensor", "python float", ".item()")),
        ("""
def accuracy(logits, y):
    return (logits.argmax(dim=0) == y).float().mean().item()
""", VALUE + ("dim=1",)),
        ("""
def accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().sum().item()
""", VALUE + ("mean",)),
    ],
    "log_softmax": [
        ("""
def log_softmax(x):
    return x.softmax(dim=-1).log()
""", ("case 2", "got -inf", "logsumexp")),
    ],
    "relu_init_std": [
        ("""
def relu_init_std(fan_in):
    return math.sqrt(1 / fan_in)
""", VALUE + ("sqrt(2 / fan_in)",)),
        ("""
def relu_init_std(fan_in):
    return 2 / fan_in
""", VALUE + ("square root",)),
    ],
    "dead_fraction": [
        ("""
def dead_fraction(acts):
    return (acts == 0).float().mean().item()
""", VALUE + ("every example",)),
    ],
    "cube_function": [
        ("""
class Cube(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * grad
""", VALUE + ("return value 1", "3 x^2")),
        ("""
class Cube(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2
""", VALUE + ("grad_output",)),
    ],
    "flatten_batch": [
        ("""
def flatten_batch(x):
    return x.flatten()
""", ("shape (96,)", "should have shape (2, 48)", "batch dimension")),
        ("""
def flatten_batch(x):
    return x.reshape(-1, x.shape[0])
""", ("shape (48, 2)", "comes first")),
    ],
    "train_step": [
        ("""
def train_step(model, opt, X, y):
    loss = lk.nn.functional.cross_entropy(model(X), y)
    loss.backward()
    opt.step()
    return loss.item()
""", VALUE + ("accumulate", "zero_grad")),
        ("""
def train_step(model, opt, X, y):
    loss = lk.nn.functional.cross_entropy(model(X), y)
    loss.backward()
    opt.zero_grad()
    opt.step()
    return loss.item()
""", VALUE + ("before backward",)),
    ],
    "steepest_lr": [
        ("""
def steepest_lr(lrs, losses):
    return lrs[np.argmin(losses)]
""", VALUE + ("lowest loss", "fastest")),
    ],
}
