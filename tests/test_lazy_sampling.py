"""Samplers and the DataLoader do work sized by what is taken, not by num_samples (PyTorch's
RandomSampler draws its indices in chunks): a 1e10-sample sampler gives its first batches
with little memory; the chunked indices are still the right ones."""
import itertools
import tracemalloc

import numpy as np

import labkit as lk
from labkit.utils.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler,
                               SubsetRandomSampler, TensorDataset, WeightedRandomSampler)

HUGE = int(1e10)


def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_random_sampler_first_batches_use_little_memory():
    ds = TensorDataset(lk.arange(100.).reshape(50, 2), lk.arange(50))
    sampler = RandomSampler(ds, replacement=True, num_samples=HUGE)
    assert len(sampler) == HUGE
    loader = DataLoader(ds, batch_size=8, sampler=sampler)
    assert len(loader) == HUGE // 8

    def take():
        batches = list(itertools.islice(iter(loader), 5))
        assert len(batches) == 5 and tuple(batches[0][0].shape) == (8, 2)
        assert all(0 <= int(i) < 50 for _, y in batches for i in y)
        first = list(itertools.islice(iter(sampler), 1000))
        assert len(first) == 1000 and max(first) < 50 and min(first) >= 0
        assert len(set(first)) > 40                 # uniform draws cover the dataset
    assert peak_bytes(take) < 16 * 2 ** 20          # all 1e10 int64s would be 80 GB


def test_huge_weighted_sampler_and_batch_sampler_are_lazy():
    w = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=HUGE)
    bs = BatchSampler(w, batch_size=4, drop_last=False)

    def take():
        got = list(itertools.islice(iter(w), 4000))
        assert set(got) <= {1, 2}
        assert 0.65 < got.count(2) / len(got) < 0.85      # p = 3/4
        assert [len(b) for b in itertools.islice(iter(bs), 3)] == [4, 4, 4]
    assert peak_bytes(take) < 16 * 2 ** 20


def test_loader_over_a_plain_dataset_with_huge_sampler_is_lazy():
    class Squares:
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return lk.tensor(float(i * i))
    ds = Squares()
    loader = DataLoader(ds, batch_size=3, sampler=RandomSampler(ds, True, HUGE))

    def take():
        b = next(iter(loader))
        assert tuple(b.shape) == (3,)
    assert peak_bytes(take) < 16 * 2 ** 20


def test_batch_sampler_over_an_endless_generator():
    def forever():
        i = 0
        while True:
            yield i
            i += 1
    bs = BatchSampler(forever(), batch_size=5, drop_last=True)
    assert list(itertools.islice(iter(bs), 2)) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [b.tolist() for b in itertools.islice(
        BatchSampler(forever(), 5, False)._index_batches(), 2)] == [[0, 1, 2, 3, 4],
                                                                      [5, 6, 7, 8, 9]]


def test_chunked_indices_are_still_correct():
    from labkit.utils.data import sampler as S
    old = S._CHUNK
    S._CHUNK = 7                                    # force many chunks
    try:
        ds = list(range(20))
        # without replacement beyond one pass: each block of 20 is a permutation
        idx = list(RandomSampler(ds, num_samples=50, generator=lk.Generator().manual_seed(1)))
        assert len(idx) == 50
        assert sorted(idx[:20]) == ds and sorted(idx[20:40]) == ds
        assert len(set(idx[40:])) == 10
        assert list(SequentialSampler(ds)) == ds
        sub = list(SubsetRandomSampler([3, 5, 7, 9, 11, 13, 15, 17, 19]))
        assert sorted(sub) == [3, 5, 7, 9, 11, 13, 15, 17, 19]
        bs = BatchSampler(SequentialSampler(ds), 6, drop_last=False)
        assert [len(b) for b in bs] == [6, 6, 6, 2]
        assert [b.tolist() for b in bs._index_batches()] == list(bs)
        assert [len(b) for b in BatchSampler(SequentialSampler(ds), 6, True)] == [6, 6, 6]
        # the DataLoader's fast path and the slow path agree
        X = lk.arange(20.)
        g = lk.Generator().manual_seed(3)
        fast = [b[0].tolist() for b in DataLoader(TensorDataset(X), batch_size=6, shuffle=True,
                                                  generator=g)]
        assert sorted(sum(fast, [])) == [float(i) for i in range(20)]
    finally:
        S._CHUNK = old
    # the same seed gives the same order
    a = list(RandomSampler(list(range(30)), generator=lk.Generator().manual_seed(5)))
    b = list(RandomSampler(list(range(30)), generator=lk.Generator().manual_seed(5)))
    assert a == b and sorted(a) == list(range(30)) and a != list(range(30))
    assert np.asarray(a).dtype.kind == "i"
