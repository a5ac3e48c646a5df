"""unblur.torch.SynthPairs in a DataLoader: the same batches with 0, 1 and 2 workers (fork and spawn).
Skipped where PyTorch is absent (Debian: python3-torch)."""
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (Debian: apt-get install python3-torch)")

from unblur.torch import SynthPairs  # noqa: E402


def batches(ds, workers, context=None):
    dl = torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False, num_workers=workers,
                                     multiprocessing_context=context if workers else None,
                                     timeout=300 if workers else 0)
    return [(b.clone(), s.clone()) for b, s in dl]


def test_synthpairs_tensors(sharp_folder):
    ds = SynthPairs(sharp_folder, preset="realistic", crop=64, seed=2, length=7)
    b, s = ds[4]
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float32 and b.shape == (3, 64, 64)
    assert s.shape == (3, 64, 64) and 0 <= float(b.min()) and float(b.max()) <= 1
    assert isinstance(ds, torch.utils.data.Dataset)


def test_dataloader_workers_identical(sharp_folder):
    ds = SynthPairs(sharp_folder, preset="shake", crop=64, seed=0, length=10)
    ref = batches(ds, 0)  # the main process, on all cores: the OpenMP pool exists before the forks
    assert len(ref) == 4 and ref[0][0].shape == (3, 3, 64, 64)
    for workers, context in ((1, "fork"), (2, "fork"), (2, "spawn")):
        got = batches(ds, workers, context)
        assert len(got) == len(ref)
        for (b0, s0), (b1, s1) in zip(ref, got):
            assert torch.equal(b0, b1) and torch.equal(s0, s1), (workers, context)
