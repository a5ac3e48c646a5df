"""unblur.PairSet (no PyTorch needed): determinism per index, and the same pairs in forked and spawned
worker processes, also after the parent ran multi-threaded C work (OpenMP after fork)."""
import multiprocessing as mp

import numpy as np
import pytest

import unblur


def sample_sums(args):
    ds, indices = args
    out = [(i, ds[i][0].tobytes(), ds[i][1].tobytes()) for i in indices]
    return [x + (unblur._lib.ub_ctx_threads(ds._state["ctx"].h),) for x in out]


def test_pairs_deterministic(sharp_folder):
    ds = unblur.PairSet(sharp_folder, preset="shake", crop=64, seed=3, length=12)
    assert len(ds) == 12
    b, s = ds[5]
    assert b.shape == s.shape == (3, 64, 64) and b.dtype == s.dtype == np.float32
    again = unblur.PairSet(sharp_folder, preset="shake", crop=64, seed=3, length=12, cache=False)
    for i in (5, 0, 11, 5):
        x, y = again[i]
        z, w = ds[i]
        assert np.array_equal(x, z) and np.array_equal(y, w)
    assert np.array_equal(ds[-1][0], ds[11][0])
    other = unblur.PairSet(sharp_folder, preset="shake", crop=64, seed=4, length=12)
    assert not np.array_equal(other[5][0], b)
    with pytest.raises(IndexError):
        ds[12]


def test_pairs_use_every_image_kind(sharp_folder):
    ds = unblur.PairSet(sharp_folder, preset="linear", crop=32, seed=0, length=64, augment=True)
    assert len(ds.paths) == 5  # png 8/16-bit, grey, RGBA, jpeg
    for i in range(len(ds)):
        b, s = ds[i]
        assert b.shape == (3, 32, 32) and 0 <= b.min() and b.max() <= 1 and np.isfinite(s).all()


def test_pairs_errors(sharp_folder, tmp_path):
    with pytest.raises(unblur.Error, match="nope"):
        unblur.PairSet(sharp_folder, preset="nope")
    with pytest.raises(unblur.Error, match="no PNG or JPEG"):
        unblur.PairSet(tmp_path)
    ds = unblur.PairSet(sharp_folder, preset="shake", crop=1000)
    with pytest.raises(unblur.Error, match="smaller than the 1000-pixel crop"):
        ds[0]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pairs_in_worker_processes(sharp_folder, method):
    ds = unblur.PairSet(sharp_folder, preset="shake", crop=48, seed=1, length=8)
    unblur.set_threads(0)
    serial = sample_sums((ds, range(8)))  # the parent runs C work on all cores first
    with mp.get_context(method).Pool(2) as pool:
        r = pool.map_async(sample_sums, [(ds, range(0, 8, 2)), (ds, range(1, 8, 2))])
        parts = r.get(timeout=300)  # a hang (OpenMP after fork) fails here instead of blocking
    got = sorted(x for part in parts for x in part)
    assert [g[:3] for g in got] == [s[:3] for s in serial]
    assert all(g[3] == 1 for g in got)  # workers run C work on one thread
