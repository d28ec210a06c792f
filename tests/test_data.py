"""labkit.utils.data: datasets, samplers, default_collate and the DataLoader."""
import collections
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import labkit
from labkit.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                               RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                               TensorDataset, WeightedRandomSampler, default_collate,
                               random_split)


def _ds(n=23, d=3):
    x = labkit.arange(n * d, dtype=labkit.float32).reshape(n, d)
    y = labkit.arange(n)
    return TensorDataset(x, y)


def _rows(batches):
    """All y values seen, in order."""
    return [int(v) for _, yb in batches for v in yb.tolist()]


class ListDataset(Dataset):
    """A plain map-style dataset (no fast path): samples are (x, y) with x = row of floats."""

    def __init__(self, n=23, d=3):
        self.x = np.arange(n * d, dtype=np.float32).reshape(n, d)

    def __getitem__(self, i):
        return labkit.tensor(self.x[i]), i

    def __len__(self):
        return len(self.x)


def test_tensor_dataset_indexing_and_errors():
    ds = _ds()
    x, y = ds[4]
    assert x.tolist() == [12.0, 13.0, 14.0] and int(y) == 4 and y.dtype is labkit.int64
    assert len(ds) == 23 and len(ds.tensors) == 2
    with pytest.raises(ValueError, match="Size mismatch between tensors.*23.*22"):
        TensorDataset(labkit.zeros(23, 2), labkit.zeros(22))
    with pytest.raises(TypeError, match="as_tensor"):
        TensorDataset(np.zeros(3))


def test_sequential_batches_drop_last_and_len():
    ds = _ds()
    loader = DataLoader(ds, batch_size=5)
    batches = list(loader)
    assert len(loader) == len(batches) == 5
    assert [b[0].shape[0] for b in batches] == [5, 5, 5, 5, 3]
    assert _rows(batches) == list(range(23))
    assert batches[1][0].tolist() == ds.tensors[0][5:10].tolist()
    assert batches[0][0].dtype is labkit.float32 and batches[0][1].dtype is labkit.int64
    dl = DataLoader(ds, batch_size=5, drop_last=True)
    assert len(dl) == 4 and _rows(dl) == list(range(20))


def test_shuffle_with_generator_is_deterministic_and_a_permutation():
    ds = _ds(50)
    a = _rows(DataLoader(ds, batch_size=8, shuffle=True,
                         generator=labkit.Generator().manual_seed(3)))
    b = _rows(DataLoader(ds, batch_size=8, shuffle=True,
                         generator=labkit.Generator().manual_seed(3)))
    c = _rows(DataLoader(ds, batch_size=8, shuffle=True,
                         generator=labkit.Generator().manual_seed(4)))
    assert a == b and a != c
    assert sorted(a) == sorted(c) == list(range(50))
    assert a != list(range(50))


def test_each_epoch_reshuffles_and_global_seed_reproduces():
    ds = _ds(40)
    labkit.manual_seed(7)
    loader = DataLoader(ds, batch_size=10, shuffle=True)
    e1, e2 = _rows(loader), _rows(loader)
    labkit.manual_seed(7)
    loader = DataLoader(ds, batch_size=10, shuffle=True)
    assert e1 != e2
    assert (_rows(loader), _rows(loader)) == (e1, e2)


def test_fast_path_equals_per_sample_collate():
    """The one-fancy-index path and the per-sample stacking path give identical batches."""
    ds = _ds(37)
    for kw in [dict(shuffle=True), dict(shuffle=False, drop_last=True)]:
        fast = list(DataLoader(ds, batch_size=6, generator=labkit.Generator().manual_seed(1),
                               **kw))
        slow = list(DataLoader(ds, batch_size=6, generator=labkit.Generator().manual_seed(1),
                               collate_fn=lambda b: default_collate(b), **kw))
        plain = list(DataLoader(ListDataset(37), batch_size=6,
                                generator=labkit.Generator().manual_seed(1), **kw))
        assert len(fast) == len(slow) == len(plain)
        for (fx, fy), (sx, sy), (px, py) in zip(fast, slow, plain):
            assert fx.shape == sx.shape == px.shape and fx.dtype is sx.dtype is px.dtype
            assert fx.tolist() == sx.tolist() == px.tolist()
            assert fy.tolist() == sy.tolist() == py.tolist() and fy.dtype is labkit.int64


def test_fast_path_is_faster_than_per_sample_stacking():
    n, d, bs = 8192, 64, 64
    ds = TensorDataset(labkit.randn(n, d), labkit.randint(0, 10, (n,)))

    def epoch(**kw):
        t0 = time.perf_counter()
        for _ in DataLoader(ds, batch_size=bs, shuffle=True, **kw):
            pass
        return time.perf_counter() - t0

    fast = min(epoch() for _ in range(3))
    slow = min(epoch(collate_fn=lambda b: default_collate(b)) for _ in range(2))
    print(f"\nDataLoader epoch {n}x{d}, batch {bs}: fancy-index {fast * 1e3:.1f} ms, "
          f"per-sample {slow * 1e3:.1f} ms ({slow / fast:.0f}x)")
    assert fast * 5 < slow


def test_subset_and_random_split_fast_path():
    ds = _ds(30)
    train, val = random_split(ds, [0.8, 0.2], generator=labkit.Generator().manual_seed(0))
    assert (len(train), len(val)) == (24, 6)
    seen = _rows(DataLoader(train, batch_size=5)) + _rows(DataLoader(val, batch_size=4))
    assert sorted(seen) == list(range(30))
    assert _rows(DataLoader(train, batch_size=5)) == [int(train[i][1]) for i in range(24)]
    nested = Subset(train, [3, 0, 5])
    assert _rows(DataLoader(nested, batch_size=2)) == [int(train[i][1]) for i in (3, 0, 5)]


@pytest.mark.parametrize("lengths", [[0.8, 0.2], [0.33, 0.33, 0.34], [0.5, 0.5], [3, 7],
                                     [0.1, 0.2, 0.3, 0.4]])
def test_random_split_lengths_match_torch(lengths):
    ours = [len(s) for s in random_split(range(10), lengths)]
    theirs = [len(s) for s in tud.random_split(range(10), lengths)]
    assert ours == theirs


def test_random_split_is_seeded_and_validates():
    a = random_split(range(20), [10, 10], generator=labkit.Generator().manual_seed(5))
    b = random_split(range(20), [10, 10], generator=labkit.Generator().manual_seed(5))
    assert a[0].indices == b[0].indices and set(a[0].indices).isdisjoint(a[1].indices)
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(range(10), [3, 3])


def test_concat_dataset():
    a, b = _ds(3), _ds(4)
    c = a + b
    assert isinstance(c, ConcatDataset) and len(c) == 7 and c.cumulative_sizes == [3, 7]
    assert int(c[3][1]) == 0 and int(c[-1][1]) == 3 and int(c[2][1]) == 2
    with pytest.raises(IndexError):
        c[7]
    assert _rows(DataLoader(c, batch_size=3)) == [0, 1, 2, 0, 1, 2, 3]


def test_default_collate_matches_torch():
    Point = collections.namedtuple("Point", "x y")
    samples = [
        {"img": np.full((2, 2), i, np.float32), "label": i, "w": 0.5 * i, "name": f"s{i}",
         "pair": (np.int64(i), True), "pt": Point(float(i), [i, i + 1])}
        for i in range(3)]
    ours = default_collate(samples)
    theirs = tud.default_collate(samples)
    assert set(ours) == set(theirs)
    for key in ["img", "label", "w"]:
        assert str(ours[key].dtype).split(".")[1] == str(theirs[key].dtype).split(".")[1]
        assert ours[key].tolist() == theirs[key].tolist()
    assert ours["name"] == theirs["name"]
    assert isinstance(ours["pair"], list) and isinstance(theirs["pair"], list)
    assert ours["pair"][0].tolist() == theirs["pair"][0].tolist()
    assert ours["pair"][1].dtype is labkit.bool and ours["pair"][1].tolist() == [True] * 3
    assert type(ours["pt"]) is Point and ours["pt"].x.dtype is labkit.float64
    assert [t.tolist() for t in ours["pt"].y] == [t.tolist() for t in theirs["pt"].y]


def test_default_collate_errors_say_what_to_do():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size.*collate_fn"):
        default_collate([labkit.zeros(3), labkit.zeros(2)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = labkit.Generator().manual_seed(0)
    rs = list(RandomSampler(range(10), generator=g))
    assert sorted(rs) == list(range(10))
    rr = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(rr) == 50 and set(rr) <= {0, 1, 2}
    more = list(RandomSampler(range(4), num_samples=10, generator=g))   # 2.5 permutations
    assert sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3] and len(set(more[8:])) == 2
    sub = list(SubsetRandomSampler([10, 20, 30, 40], generator=g))
    assert sorted(sub) == [10, 20, 30, 40]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=g))
    assert set(w) == {1, 3} and w.count(3) > w.count(1)
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert len(BatchSampler(range(10), 3, True)) == 3
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]


def test_sampler_and_batch_sampler_arguments():
    ds = _ds(10)
    dl = DataLoader(ds, batch_size=4, sampler=[9, 8, 7, 6, 5])
    assert _rows(dl) == [9, 8, 7, 6, 5] and len(dl) == 2
    dl = DataLoader(ds, batch_sampler=[[0, 1], [5, 6, 7]])
    assert [b[1].tolist() for b in dl] == [[0, 1], [5, 6, 7]]
    with pytest.raises(ValueError, match="mutually exclusive with batch_size"):
        DataLoader(ds, batch_size=4, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(IndexError, match="out of bounds"):
        list(DataLoader(ds, batch_sampler=[[0, 10]]))


def test_batch_size_none_yields_single_samples():
    dl = DataLoader(_ds(3), batch_size=None)
    items = list(dl)
    assert len(dl) == 3 and len(items) == 3 and items[0][0].shape == (3,)


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield np.array([i, i], np.float32), i

    def __len__(self):
        return self.n


def test_iterable_dataset_batching():
    dl = DataLoader(Stream(7), batch_size=3)
    batches = list(dl)
    assert len(dl) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches[0][0].shape == (3, 2) and batches[0][0].dtype is labkit.float32
    assert len(list(DataLoader(Stream(7), batch_size=3, drop_last=True))) == 2
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Stream(3), shuffle=True)


def test_dict_samples_and_custom_collate():
    class D(Dataset):
        def __getitem__(self, i):
            return {"x": labkit.full((2,), float(i)), "y": i}

        def __len__(self):
            return 5

    b = next(iter(DataLoader(D(), batch_size=5)))
    assert b["x"].shape == (5, 2) and b["y"].tolist() == [0, 1, 2, 3, 4]
    lens = [len(b) for b in DataLoader(D(), batch_size=2, collate_fn=lambda s: s)]
    assert lens == [2, 2, 1]


def test_training_loop_with_loader_converges():
    labkit.manual_seed(0)
    x = labkit.randn(256, 2)
    y = (x[:, 0] * 2 - x[:, 1]).unsqueeze(1)
    w = labkit.zeros(2, 1, requires_grad=True)
    opt = labkit.optim.SGD([w], lr=0.1)
    for _ in range(5):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True):
            opt.zero_grad()
            ((xb @ w - yb) ** 2).mean().backward()
            opt.step()
    assert w.detach().reshape(-1).tolist() == pytest.approx([2.0, -1.0], abs=1e-2)
