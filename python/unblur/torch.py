"""unblur.torch: unblur's synthesis as a PyTorch map-style dataset.

    from unblur.torch import SynthPairs
    ds = SynthPairs("photos/", preset="realistic", crop=256, seed=0)
    blurry, sharp = ds[7]          # float32 tensors (3, 256, 256), display-referred [0, 1]
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, num_workers=4)

SynthPairs is unblur.pairs.PairSet (see there how samples are drawn) yielding tensors: sample `index` is
the same whatever the worker count (0, 1, 2, 4, ...) or start method (fork, spawn); each DataLoader
worker runs the C synthesis on one thread, the main process (num_workers=0) on all cores.
"""
import torch
import torch.utils.data

from .pairs import PairSet

__all__ = ["SynthPairs"]


class SynthPairs(PairSet, torch.utils.data.Dataset):
    """(blurry, sharp) float32 tensors (3, crop, crop) synthesised from the sharp images of `folder`:
    SynthPairs(folder, preset=None | config=None, crop=256, seed=0, length=None, augment=True,
    threads=None, cache=True); see unblur.pairs.PairSet."""

    def __getitem__(self, index):
        blurry, sharp = PairSet.__getitem__(self, index)
        return torch.from_numpy(blurry), torch.from_numpy(sharp)
