"""unblur.pairs: (blurry, sharp) training pairs synthesised from a folder of sharp images, as numpy arrays.

unblur.torch.SynthPairs is this as a PyTorch dataset (tensors); PairSet needs no PyTorch.

SAMPLES. Sample `index` draws, from a generator seeded with ub_rng_derive(seed, 0, index), an image
(uniform over the folder's images, sorted by name), an augmentation (uniform over 8: a horizontal flip or
not, then 0-3 quarter turns counter-clockwise; augment=False draws it but uses none) and a crop position
(uniform over the positions inside the augmented image); the whole augmented image goes to
ub_synth_crop with that same seed and synth index 1, which blurs a margin around the crop with real
context and keeps the valid centre (the scheme of `unblur train`'s sampler at step 0). So a sample
depends only on (folder, config, seed, index, crop): the same arrays in any process, worker or order,
on any number of threads. Grey images are promoted to RGB and alpha is dropped: outputs are always
(3, crop, crop) float32, display-referred (sRGB-encoded) [0, 1]. An image smaller than the crop is an
error naming it.

PROCESSES AND THREADS. Each process makes its own unblur context on first use: nothing of C crosses a
fork, and pickling (for a spawn start method) leaves it behind. In the process that made the PairSet the
context uses `threads` threads (default: unblur.get_threads(), 0 = all cores); in any OTHER process
(DataLoader or multiprocessing workers, fork or spawn) it uses 1 thread unless `threads` was given: the
workers are the parallelism, and a forked child then never relies on an OpenMP thread pool that its
parent started (GNU libgomp's pool does not survive fork). Both start methods are tested.
Decoded images are kept per process (cache=True; float32, 12 bytes a pixel); with cache=False each
sample decodes its image again.
"""
import os

import numpy as np

import unblur
from . import _lib as L

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


class PairSet:
    """(blurry, sharp) pairs of crop x crop pixels synthesised from the sharp images of `folder` (or a list
    of image paths); `length` = the dataset's length (default: the number of images). See the module's
    documentation for how samples are drawn."""

    def __init__(self, folder, preset=None, config=None, crop=256, seed=0, length=None, augment=True,
                 threads=None, cache=True):
        if isinstance(folder, (list, tuple)):
            self.paths = [os.fsdecode(p) for p in folder]
        else:
            folder = os.fsdecode(folder)
            if not os.path.isdir(folder):
                raise unblur.Error("%s: not a folder" % folder, -3)
            self.paths = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                                if f.lower().endswith(IMAGE_EXTENSIONS))
        if not self.paths:
            raise unblur.Error("%s: no PNG or JPEG images" % folder, -1)
        if not isinstance(crop, int) or not 1 <= crop <= 8192:
            raise ValueError("PairSet: crop is 1..8192 pixels, not %r" % (crop,))
        self.key = unblur._synth_key(preset, config)
        self.crop = crop
        self.seed = unblur._u64(seed, "PairSet: seed")
        self.length = len(self.paths) if length is None else int(length)
        if self.length < 0:
            raise ValueError("PairSet: length >= 0, not %r" % (length,))
        self.augment = bool(augment)
        self.threads = threads
        self.cache = bool(cache)
        self._owner = os.getpid()
        self._state = None
        # Fail now, in the caller's process, on a bad preset or config rather than in a worker.
        probe = unblur._Ctx(1)
        try:
            probe.synth(*self._preset_config())
        finally:
            probe.close()

    def _preset_config(self):
        kind, value = self.key
        if kind == "preset":
            return value, None
        return None, value

    def __len__(self):
        return self.length

    def __getstate__(self):  # for spawn: the C state stays behind
        d = dict(self.__dict__)
        d["_state"] = None
        return d

    def _process_state(self):
        st = self._state
        if st is None or st["pid"] != os.getpid():
            if self.threads is not None:
                threads = self.threads
            else:
                threads = unblur.get_threads() if os.getpid() == self._owner else 1
            ctx = unblur._Ctx(threads)
            st = self._state = {"pid": os.getpid(), "ctx": ctx, "synth": ctx.synth(*self._preset_config()),
                                "images": {}}
        return st

    def _planes(self, st, i):
        """The image's planes (3, H, W) float32, sRGB-encoded [0, 1]."""
        a = st["images"].get(i)
        if a is None:
            ctx = st["ctx"]
            p = L.P_IMAGE()
            ctx.check(L.ub_image_read(ctx.h, os.fsencode(self.paths[i]), p))
            with unblur._CImage(p) as img:
                planes = unblur._planes(img.p)
                colour = 3 if planes.shape[0] >= 3 else 1
                a = np.empty((3,) + planes.shape[1:], np.float32)
                a[:] = planes[:colour]  # grey promoted to RGB (broadcast), alpha dropped
            if self.cache:
                st["images"][i] = a
        return a

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError("PairSet: an integer index, not %r" % (index,))
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError("PairSet: index %d out of range (length %d)" % (index, self.length))
        st = self._process_state()
        ctx = st["ctx"]
        sample_seed = L.ub_rng_derive(self.seed, 0, int(index))
        r = L.Rng()
        L.ub_rng_seed(r, sample_seed)
        i = int(L.ub_rng_below(r, len(self.paths)))
        aug = int(L.ub_rng_below(r, 8))
        planes = self._planes(st, i)
        if self.augment:
            if aug & 1:
                planes = planes[:, :, ::-1]
            if aug >> 1:
                planes = np.rot90(planes, aug >> 1, axes=(1, 2))
        h, w = planes.shape[1], planes.shape[2]
        if self.crop > w or self.crop > h:
            raise unblur.Error("%s: the %dx%d image is smaller than the %d-pixel crop"
                               % (self.paths[i], planes.shape[2], planes.shape[1], self.crop), -1)
        x0 = int(L.ub_rng_below(r, w - self.crop + 1))
        y0 = int(L.ub_rng_below(r, h - self.crop + 1))
        p = L.P_IMAGE()
        ctx.check(L.ub_image_create(ctx.h, p, w, h, 3))
        out = L.SynthSample()
        with unblur._CImage(p) as whole:
            unblur._planes(whole.p)[...] = planes
            inputs = L.SynthInputs(whole.p, None, None)
            ctx.check(L.ub_synth_crop(st["synth"], inputs, x0, y0, self.crop, sample_seed, 1, out))
        try:
            blurry = unblur._planes(out.blurred).copy()
            sharp = unblur._planes(out.sharp).copy()
        finally:
            L.ub_synth_sample_free(out)
        return blurry, sharp
