"""unblur: realistic blur synthesis, deblurring and metrics from Python, over libunblur's C API.

Arrays are numpy float32, (H, W) or (H, W, C) with C = 1..4 (grey, grey+alpha, RGB, RGBA; alpha last),
values nominally in [0, 1] in the file's own encoding: sRGB-encoded ("display-referred") for ordinary
photos, exactly what load_image() gives and save_image() expects. synth() takes and returns such
values; it converts to linear light inside (blur and noise happen in linear light) and back through
the drawn camera response. A 2-D input gives 2-D outputs.

Every input array is copied into unblur's planar layout before C sees it (so any strides are fine and
the caller's array is never modified); it must be float32 (TypeError otherwise: no silent rescaling of
uint8 or float64) with 1-4 channels, at least 1x1, and finite (ValueError otherwise). Errors of the C
library raise unblur.Error with its one-line message. The GIL is released during C work.

Each Python thread gets its own unblur context (a context is not thread-safe); set_threads(n) sets the
number of threads C work uses (0 = all cores, the default; 1 in a forked child process, see set_threads).
"""
import ctypes
import json
import os
import threading

import numpy as np

from . import _lib as L

__version__ = "0.1.0"
__all__ = ["Error", "synth", "kernels", "deblur", "Model", "psnr", "ssim", "metrics", "load_image", "save_image",
           "srgb_to_linear", "linear_to_srgb", "set_threads", "get_threads", "library_version", "library_path",
           "find_model", "PairSet"]

library_path = L.path


class Error(Exception):
    """An error of libunblur: str(e) is its one-line message; e.status is the ub_status code (negative)
    and e.reason its short name ("invalid", "io", "format", "limit", "unsupported", "mismatch", ...)."""

    def __init__(self, message, status=-1):
        super().__init__(message)
        self.status = status
        self.reason = L.STATUS_NAMES.get(status, "error")


def library_version():
    """The version of the loaded libunblur ("MAJOR.MINOR.PATCH")."""
    return L.ub_version().decode()


# ---------------------------------------------------------------------------------------------------------
# contexts
# ---------------------------------------------------------------------------------------------------------

class _Ctx:
    """One ub_ctx with the synth configs and models made with it. Owned by one thread of one process."""

    def __init__(self, threads):
        s = L.Settings()
        L.ub_default_settings(s)
        s.threads = threads
        h = L.Ctx()
        st = L.ub_ctx_create(h, s)
        if st != 0:
            raise Error("cannot create an unblur context (threads %d): %s" % (threads, L.ub_status_string(st).decode()),
                        st)
        self.h = h
        self.pid = os.getpid()
        self.threads = threads
        self.synths = {}
        self.models = {}

    def check(self, st):
        if st != 0:
            msg = L.ub_last_error(self.h).decode("utf-8", "replace") or L.ub_status_string(st).decode()
            L.ub_clear_error(self.h)
            raise Error(msg, st)

    def synth(self, preset=None, config=None):
        key = _synth_key(preset, config)
        s = self.synths.get(key)
        if s is None:
            s = L.Synth()
            kind, value = key
            if kind == "preset":
                self.check(L.ub_synth_create_preset(self.h, value.encode(), s))
            elif kind == "json":
                self.check(L.ub_synth_create_json(self.h, value.encode(), b"config", s))
            else:
                self.check(L.ub_synth_create_file(self.h, os.fsencode(value), s))
            if len(self.synths) >= 16:
                self._drop_synths()
            self.synths[key] = s
        return s

    def _drop_synths(self):
        for s in self.synths.values():
            L.ub_synth_destroy(s)
        self.synths.clear()

    def close(self):
        # After a fork the context is a copy owned by this process: freeing it is safe, it is plain memory.
        if self.h:
            self._drop_synths()
            for m in self.models.values():
                L.ub_model_destroy(m[1])
            self.models.clear()
            L.ub_ctx_destroy(self.h)
            self.h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _synth_key(preset, config):
    if preset is not None and config is not None:
        raise ValueError("synth: preset and config exclude each other")
    if config is None:
        preset = "realistic" if preset is None else preset
        if not isinstance(preset, str):
            raise TypeError("synth: preset is a name (gaussian, linear, shake, realistic, camera), not %r" % (preset,))
        return ("preset", preset)
    if isinstance(config, dict):
        return ("json", json.dumps(config, sort_keys=True))
    if isinstance(config, str) and config.lstrip().startswith("{"):
        return ("json", config)
    if isinstance(config, (str, bytes, os.PathLike)):
        return ("file", os.fsdecode(config))
    raise TypeError("synth: config is a dict, JSON text or a path to a JSON file, not %s" % type(config).__name__)


_local = threading.local()
_threads = 0
_threads_pid = os.getpid()  # the process whose setting _threads is
_generation = 0


def set_threads(n):
    """Threads of C work for the calls that follow, in every Python thread of this process (0 = all online
    cores, the default). A process forked from one that imported unblur uses 1 thread until it calls
    set_threads itself: GNU OpenMP's thread pool does not survive fork, and a child that starts a parallel
    region with more than one thread after its parent ran one hangs (measured; spawned processes are not
    concerned). So set_threads(n > 1) in a forked child is safe only if the parent never ran C work."""
    global _threads, _threads_pid, _generation
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError("set_threads: a number of threads >= 0, not %r" % (n,))
    _threads, _threads_pid = n, os.getpid()
    _generation += 1


def get_threads():
    """The threads of C work in this process (0 = all online cores); see set_threads."""
    return _threads if os.getpid() == _threads_pid else 1


def _ctx():
    c = getattr(_local, "ctx", None)
    if c is None or c.pid != os.getpid() or getattr(_local, "gen", None) != _generation:
        if c is not None:
            c.close()
        c = _local.ctx = _Ctx(get_threads())
        _local.gen = _generation
    return c


# ---------------------------------------------------------------------------------------------------------
# arrays <-> ub_image
# ---------------------------------------------------------------------------------------------------------

def _check_array(a, what, channels=(1, 2, 3, 4)):
    if not isinstance(a, np.ndarray):
        raise TypeError("%s: expected a numpy float32 array of shape (H, W) or (H, W, C), not %s"
                        % (what, type(a).__name__))
    if a.dtype != np.float32:
        hint = " (divide by 255 or 65535 first)" if a.dtype.kind in "ui" else " (use .astype(numpy.float32))"
        raise TypeError("%s: expected dtype float32, got %s%s" % (what, a.dtype, hint))
    if a.ndim == 2:
        c = 1
    elif a.ndim == 3:
        c = a.shape[2]
    else:
        raise ValueError("%s: expected shape (H, W) or (H, W, C), got %s" % (what, a.shape))
    if c not in channels:
        raise ValueError("%s: expected %s channel(s) (last axis), got %d in shape %s"
                         % (what, "/".join(str(x) for x in channels), c, a.shape))
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError("%s: the image is empty (shape %s)" % (what, a.shape))
    if not np.isfinite(a).all():
        raise ValueError("%s: the array holds NaN or infinite values" % what)
    return c


class _CImage:
    """A ub_image owned by Python (freed on close)."""

    def __init__(self, ptr):
        self.p = ptr

    def close(self):
        if self.p:
            L.ub_image_destroy(self.p)
            self.p = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _planes(p):
    """A numpy view (C, H, W) of a ub_image's pixels (valid while the image lives)."""
    im = p.contents
    return np.ctypeslib.as_array(im.data, shape=(im.channels, im.height, im.width))


def _to_c(ctx, a, what, channels=(1, 2, 3, 4)):
    c = _check_array(a, what, channels)
    h, w = a.shape[0], a.shape[1]
    p = L.P_IMAGE()
    ctx.check(L.ub_image_create(ctx.h, p, w, h, c))
    img = _CImage(p)
    dst = _planes(p)
    if a.ndim == 2:
        dst[0] = a
    else:
        dst[...] = a.transpose(2, 0, 1)
    return img


def _from_c(p, ndim=3):
    planes = _planes(p)
    if ndim == 2 and planes.shape[0] == 1:
        return planes[0].copy()
    return planes.transpose(1, 2, 0).copy(order="C")  # always a copy: the C image is freed after this


def _path(p, what):
    if not isinstance(p, (str, bytes, os.PathLike)):
        raise TypeError("%s: expected a path, not %s" % (what, type(p).__name__))
    return os.fsencode(p)


def _u64(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < 2 ** 64:
        raise ValueError("%s: an integer in [0, 2^64), not %r" % (what, v))
    return int(v)


# ---------------------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------------------

def load_image(path):
    """Reads a PNG or JPEG (recognised by content) as float32 (H, W, C), C = 1..4, values k/255 or k/65535
    in the file's encoding (sRGB for photos); JPEG EXIF orientation applied."""
    ctx = _ctx()
    p = L.P_IMAGE()
    ctx.check(L.ub_image_read(ctx.h, _path(path, "load_image"), p))
    with _CImage(p) as img:
        return _from_c(img.p)


def save_image(path, img, bits=8, quality=95):
    """Writes a PNG (bits 8 or 16) or JPEG (8 bits, quality 1..100; no alpha) chosen by the extension,
    atomically. Values are clamped to [0, 1] and rounded."""
    if bits not in (8, 16):
        raise ValueError("save_image: bits is 8 or 16, not %r" % (bits,))
    if not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError("save_image: quality is 1..100, not %r" % (quality,))
    ctx = _ctx()
    o = L.WriteOptions()
    L.ub_default_write_options(o)
    o.bit_depth, o.jpeg_quality = bits, quality
    target = _path(path, "save_image")
    with _to_c(ctx, img, "save_image") as c:
        ctx.check(L.ub_image_write(ctx.h, c.p, target, o))


def _curve(a, fn, what):
    a = np.array(a, dtype=np.float32, copy=True, order="C")
    fn(a.ctypes.data_as(L.POINTER(L.c_float)), a.size)
    return a


def srgb_to_linear(a):
    """The IEC 61966-2-1 sRGB decoding curve on every value of a copy of `a` (float32)."""
    return _curve(a, L.ub_srgb_to_linear, "srgb_to_linear")


def linear_to_srgb(a):
    """The sRGB encoding curve on every value of a copy of `a` (float32)."""
    return _curve(a, L.ub_linear_to_srgb, "linear_to_srgb")


# ---------------------------------------------------------------------------------------------------------
# synthesis
# ---------------------------------------------------------------------------------------------------------

def _aux(ctx, v, what, depth):
    if v is None:
        return None
    if isinstance(v, (str, bytes, os.PathLike)):
        p = L.P_IMAGE()
        if depth:  # a 16-bit PNG in millimetres, as `unblur synth --depth`
            ctx.check(L.ub_depth_read(ctx.h, os.fsencode(v), L.UB_DEPTH_MM16, 1.0, p))
        else:
            ctx.check(L.ub_image_read(ctx.h, os.fsencode(v), p))
        img = _CImage(p)
        if p.contents.channels != 1:
            img.close()
            raise ValueError("%s: %s has %d channels, expected 1" % (what, os.fsdecode(v), p.contents.channels))
        return img
    return _to_c(ctx, v, what, channels=(1,))


def synth(img, preset=None, config=None, seed=0, index=0, depth=None, mask=None, return_sharp=False):
    """Realistically blurs `img` as sample `index` of run `seed`: the same pixels as
    `unblur synth IN -o OUT --seed S --index I` on the same image.

    img     float32 (H, W) or (H, W, C), sRGB-encoded [0, 1] (as load_image gives); alpha carried through.
    preset  "gaussian", "linear", "shake", "realistic" (the default) or "camera"; or
    config  a dict, JSON text, or a path to a JSON config (docs/synth-config.md).
    depth   metres, float32 (H, W), or a path to a 16-bit PNG in millimetres; None = a ground plane.
    mask    the moving object's mask, float32 (H, W) in [0, 1], or a path to a grey PNG; None = drawn.
    Returns (blurry, params): blurry like img (display-referred, [0, 1]); params = every parameter drawn.
    With return_sharp=True: (blurry, sharp, params), sharp = the matching target (the same exposure and
    camera response, no blur, noise or JPEG), which may differ from img.
    """
    seed, index = _u64(seed, "synth: seed"), _u64(index, "synth: index")
    ctx = _ctx()
    s = ctx.synth(preset, config)
    out = L.SynthSample()
    with _to_c(ctx, img, "synth: img") as cimg:
        d = _aux(ctx, depth, "synth: depth", True)
        m = _aux(ctx, mask, "synth: mask", False)
        try:
            inputs = L.SynthInputs(cimg.p, d.p if d else None, m.p if m else None)
            ctx.check(L.ub_synth_run(s, inputs, seed, index, out))
        finally:
            for x in (d, m):
                if x:
                    x.close()
    try:
        blurry = _from_c(out.blurred, img.ndim)
        sharp = _from_c(out.sharp, img.ndim) if return_sharp else None
        params = json.loads(L.ctypes.string_at(out.params_json).decode()) if out.params_json else {}
    finally:
        L.ub_synth_sample_free(out)
    return (blurry, sharp, params) if return_sharp else (blurry, params)


def _kernel_array(p):
    k = p.contents
    return np.ctypeslib.as_array(k.data, shape=(k.height, k.width)).copy()


def kernels(preset="shake", config=None, n=16, seed=0):
    """The camera PSFs of samples 0..n-1 of run `seed` (what `unblur kernels -n N --seed S` writes): a list
    of 2-D float32 arrays (odd sides, sum 1, centre at (h//2, w//2), convolution orientation). Samples that
    apply no camera blur (possible with realistic/camera) have no kernel and are skipped."""
    if not isinstance(n, int) or n < 0:
        raise ValueError("kernels: n is an integer >= 0, not %r" % (n,))
    seed = _u64(seed, "kernels: seed")
    ctx = _ctx()
    s = ctx.synth(None if config is not None else preset, config)
    out = []
    for i in range(n):
        p = L.P_KERNEL()
        if L.ub_synth_kernel(s, seed, i, p) != 0:
            L.ub_clear_error(ctx.h)
            continue
        try:
            out.append(_kernel_array(p))
        finally:
            L.ub_kernel_destroy(p)
    return out


# ---------------------------------------------------------------------------------------------------------
# deblurring
# ---------------------------------------------------------------------------------------------------------

def _check_tile(tile):
    if not isinstance(tile, int) or isinstance(tile, bool) or not (tile in (0, -1) or 1 <= tile <= 65536):
        raise ValueError("deblur: tile is 1..65536, 0 (the default: whole up to 1280 x 1280, else 768) or -1 (whole image), not %r" % (tile,))


def find_model(name="default"):
    """The path of a bundled model by name ("default", "fast"), as `unblur` finds it (ub_model_find):
    $UNBLUR_MODELS when set, else share/unblur/models beside the installed libunblur.so, else models/ beside
    the build folder. Raises Error (naming the folders searched) when there is none."""
    if not isinstance(name, str):
        raise TypeError("find_model: name is a str, not %r" % (name,))
    ctx = _ctx()
    buf = ctypes.create_string_buffer(4096)
    ctx.check(L.ub_model_find(ctx.h, name.encode(), buf, len(buf)))
    return os.fsdecode(buf.value)


def _model_path(model):
    """A file path (anything with a '/', a .safetensors suffix, or an existing file) or a bundled name."""
    p = os.fsdecode(model)
    if "/" in p or p.endswith(".safetensors") or os.path.isfile(p):
        return p
    return find_model(p)


class Model:
    """An RBNet loaded from a safetensors file or a bundled model by name ("default", "fast"; see
    find_model), with its own context (use one per thread at a time). ensemble = 2 or 4: the flip
    self-ensemble (that many mirrored views through the network, averaged; as many times the time)."""

    def __init__(self, path, precision="fp32", threads=None, ensemble=1):
        if precision not in L.UB_PRECISION:
            raise ValueError("Model: precision is fp32, bf16 or auto, not %r" % (precision,))
        if ensemble not in (1, 2, 4) or isinstance(ensemble, bool):
            raise ValueError("Model: ensemble is 1 (off), 2 or 4 flipped views, not %r" % (ensemble,))
        self._ctx = _Ctx(get_threads() if threads is None else threads)
        self._lock = threading.Lock()
        self.path = _model_path(path)
        m = L.Model()
        self._ctx.check(L.ub_model_load(self._ctx.h, _path(self.path, "Model"), m))
        self._m = m
        self._ctx.models["self"] = (self.path, m)  # freed with the context
        self._ctx.check(L.ub_model_set_precision(m, L.UB_PRECISION[precision]))
        self._ctx.check(L.ub_model_set_ensemble(m, ensemble))

    def __call__(self, img, tile=0):
        """Deblurs img (grey or RGB, alpha carried; sRGB-encoded [0, 1]) in tiles of `tile` pixels
        (0: 768, the default; -1: the whole image at once); the output is clipped to [0, 1]."""
        _check_tile(tile)
        with self._lock:
            ctx = self._ctx
            if ctx.pid != os.getpid():
                raise Error("this Model was loaded in another process (before a fork): load it again here")
            with _to_c(ctx, img, "deblur: img") as c:
                p = L.P_IMAGE()
                ctx.check(L.ub_model_run_tiled(self._m, c.p, tile, p))
                with _CImage(p) as o:
                    return _from_c(o.p, img.ndim)


def deblur(img, model=None, tile=0):
    """Deblurs img with RBNet: model = a path to a safetensors file, a bundled model's name ("default",
    "fast": find_model) or a Model; None = "default". See Model.__call__ for tile."""
    _check_tile(tile)
    if isinstance(model, Model):
        return model(img, tile)
    path = _model_path("default" if model is None else model)
    key = os.path.abspath(path)
    cache = getattr(_local, "models", None)
    if cache is None or getattr(_local, "models_pid", None) != os.getpid():
        cache = _local.models = {}
        _local.models_pid = os.getpid()
    try:
        stamp = os.stat(key).st_mtime_ns
    except OSError:
        stamp = None
    entry = cache.get(key)
    if entry is None or entry[0] != stamp:
        cache.clear()
        entry = cache[key] = (stamp, Model(path))
    return entry[1](img, tile)


# ---------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------

def metrics(ref, img, shift=0, crop=None, subpixel=False):
    """PSNR and SSIM as scikit-image 0.19 computes them (data range 1, Gaussian SSIM; colour channels only):
    {"psnr", "ssim", "mse", "psnr_offset", "ssim_offset"}. shift = k > 0: the best over integer offsets in
    [-k, k]^2; crop: pixels removed from every side first (at least k; None = k, as `unblur metrics`);
    subpixel: the best PSNR offset refined to a quarter pixel (needs shift > 0; `unblur metrics --subpixel`),
    reported as "psnr_subpixel_offset"."""
    if crop is None:
        crop = shift
    for v, what in ((shift, "shift"), (crop, "crop")):
        if not isinstance(v, int) or v < 0:
            raise ValueError("metrics: %s is an integer >= 0, not %r" % (what, v))
    ctx = _ctx()
    o = L.MetricsOptions(shift, crop, 1 if subpixel else 0)
    r = L.Metrics()
    with _to_c(ctx, ref, "metrics: ref") as a, _to_c(ctx, img, "metrics: img") as b:
        ctx.check(L.ub_metrics_compute(ctx.h, a.p, b.p, o, r))
    out = {"psnr": r.psnr, "ssim": r.ssim, "mse": r.mse, "psnr_offset": (r.psnr_dx, r.psnr_dy),
           "ssim_offset": (r.ssim_dx, r.ssim_dy)}
    if subpixel:
        out["psnr_subpixel_offset"] = (r.psnr_sx, r.psnr_sy)
    return out


def psnr(ref, img, shift=0, crop=None):
    """PSNR in dB (inf for identical images); see metrics()."""
    return metrics(ref, img, shift, crop)["psnr"]


def ssim(ref, img, shift=0, crop=None):
    """Mean SSIM; see metrics()."""
    return metrics(ref, img, shift, crop)["ssim"]


from .pairs import PairSet  # noqa: E402  (needs the names above)
