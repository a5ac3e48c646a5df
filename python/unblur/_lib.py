"""ctypes bindings of libunblur's public C API (include/unblur/*.h): only what the package uses.

Finding libunblur.so, in this order:
  1. the UNBLUR_LIBRARY environment variable (a path to libunblur.so);
  2. the copy bundled into the package at install time (unblur/libunblur.so, made when
     UNBLUR_LIBRARY pointed at a library while `pip install ./python` ran);
  3. the installed one (`cmake --install`): ctypes.util.find_library("unblur"), then "libunblur.so.0"
     through the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache).

ctypes releases the GIL during every foreign call (CDLL), so C work runs while other Python threads go on.
"""
import ctypes
import ctypes.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


class LibraryNotFound(OSError):
    pass


def _candidates():
    env = os.environ.get("UNBLUR_LIBRARY")
    if env:
        return [("UNBLUR_LIBRARY", env)]
    out = []
    bundled = os.path.join(_HERE, "libunblur.so")
    if os.path.exists(bundled):
        out.append(("bundled", bundled))
    found = ctypes.util.find_library("unblur")
    if found:
        out.append(("find_library", found))
    out.append(("loader", "libunblur.so.0"))
    return out


def _load():
    tried = []
    for how, path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s): %s" % (path, how, e))
            if how == "UNBLUR_LIBRARY":
                break
    raise LibraryNotFound(
        "unblur: cannot load libunblur.so; tried " + "; ".join(tried) +
        ". Build it (cmake --build build: build/libunblur.so) and set UNBLUR_LIBRARY=/path/to/libunblur.so, "
        "or install it (cmake --install build), or reinstall the package with UNBLUR_LIBRARY set "
        "(see python/README.md)")


lib, path = _load()

c_int, c_int64, c_uint64, c_double, c_float = ctypes.c_int, ctypes.c_int64, ctypes.c_uint64, ctypes.c_double, ctypes.c_float
c_char_p, c_void_p, c_size_t, POINTER = ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER

# ---- structs (must match the headers) ----
PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_double, c_char_p)


class Settings(ctypes.Structure):  # ub_settings
    _fields_ = [("threads", c_int), ("max_pixels", c_int64), ("progress", PROGRESS_FN),
                ("progress_user", c_void_p), ("reserved", ctypes.c_uint8 * 32)]


class Image(ctypes.Structure):  # ub_image
    _fields_ = [("width", c_int64), ("height", c_int64), ("channels", c_int), ("bit_depth", c_int),
                ("data", POINTER(c_float))]


class Kernel(ctypes.Structure):  # ub_kernel
    _fields_ = [("width", c_int), ("height", c_int), ("data", POINTER(c_float))]


class SynthInputs(ctypes.Structure):  # ub_synth_inputs
    _fields_ = [("sharp", POINTER(Image)), ("depth", POINTER(Image)), ("mask", POINTER(Image))]


class SynthSample(ctypes.Structure):  # ub_synth_sample
    _fields_ = [("blurred", POINTER(Image)), ("sharp", POINTER(Image)), ("kernel", POINTER(Kernel)),
                ("params_json", c_void_p)]  # void*: keep the pointer (c_char_p would copy and lose it)


class WriteOptions(ctypes.Structure):  # ub_write_options
    _fields_ = [("format", c_int), ("bit_depth", c_int), ("jpeg_quality", c_int)]


class MetricsOptions(ctypes.Structure):  # ub_metrics_options
    _fields_ = [("shift", c_int), ("crop", c_int), ("subpixel", c_int)]


class Metrics(ctypes.Structure):  # ub_metrics
    _fields_ = [("psnr", c_double), ("ssim", c_double), ("mse", c_double), ("psnr_dx", c_int), ("psnr_dy", c_int),
                ("ssim_dx", c_int), ("ssim_dy", c_int), ("psnr_sx", c_double), ("psnr_sy", c_double)]


class Rng(ctypes.Structure):  # ub_rng
    _fields_ = [("s", c_uint64 * 4)]


Ctx = c_void_p
Synth = c_void_p
Model = c_void_p
P_IMAGE = POINTER(Image)
P_KERNEL = POINTER(Kernel)

# status codes (core.h)
STATUS_NAMES = {0: "ok", -1: "invalid", -2: "nomem", -3: "io", -4: "format", -5: "limit", -6: "unsupported",
                -7: "cancelled", -8: "mismatch"}
UB_DEPTH_MM16, UB_DEPTH_DISPARITY = 0, 1
UB_FORMAT_AUTO = 0
UB_PRECISION = {"fp32": 0, "bf16": 1, "auto": 2}


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    globals()[name] = f


_fn("ub_version", c_char_p)
_fn("ub_default_settings", None, POINTER(Settings))
_fn("ub_ctx_create", c_int, POINTER(Ctx), POINTER(Settings))
_fn("ub_ctx_destroy", None, POINTER(Ctx))
_fn("ub_last_error", c_char_p, Ctx)
_fn("ub_clear_error", None, Ctx)
_fn("ub_status_string", c_char_p, c_int)
_fn("ub_ctx_threads", c_int, Ctx)

_fn("ub_image_create", c_int, Ctx, POINTER(P_IMAGE), c_int64, c_int64, c_int)
_fn("ub_image_destroy", None, POINTER(P_IMAGE))
_fn("ub_image_read", c_int, Ctx, c_char_p, POINTER(P_IMAGE))
_fn("ub_image_write", c_int, Ctx, P_IMAGE, c_char_p, POINTER(WriteOptions))
_fn("ub_default_write_options", None, POINTER(WriteOptions))
_fn("ub_srgb_to_linear", None, POINTER(c_float), c_size_t)
_fn("ub_linear_to_srgb", None, POINTER(c_float), c_size_t)

_fn("ub_synth_create_preset", c_int, Ctx, c_char_p, POINTER(Synth))
_fn("ub_synth_create_json", c_int, Ctx, c_char_p, c_char_p, POINTER(Synth))
_fn("ub_synth_create_file", c_int, Ctx, c_char_p, POINTER(Synth))
_fn("ub_synth_destroy", None, POINTER(Synth))
_fn("ub_synth_run", c_int, Synth, POINTER(SynthInputs), c_uint64, c_uint64, POINTER(SynthSample))
_fn("ub_synth_crop", c_int, Synth, POINTER(SynthInputs), c_int64, c_int64, c_int, c_uint64, c_uint64,
    POINTER(SynthSample))
_fn("ub_synth_sample_free", None, POINTER(SynthSample))
_fn("ub_synth_kernel", c_int, Synth, c_uint64, c_uint64, POINTER(P_KERNEL))
_fn("ub_kernel_destroy", None, POINTER(P_KERNEL))
_fn("ub_depth_read", c_int, Ctx, c_char_p, c_int, c_double, POINTER(P_IMAGE))

_fn("ub_metrics_compute", c_int, Ctx, P_IMAGE, P_IMAGE, POINTER(MetricsOptions), POINTER(Metrics))

_fn("ub_model_load", c_int, Ctx, c_char_p, POINTER(Model))
_fn("ub_model_find", c_int, Ctx, c_char_p, c_char_p, c_size_t)
_fn("ub_model_destroy", None, POINTER(Model))
_fn("ub_model_run_tiled", c_int, Model, P_IMAGE, c_int, POINTER(P_IMAGE))
_fn("ub_model_set_precision", c_int, Model, c_int)
_fn("ub_model_set_ensemble", c_int, Model, c_int)

_fn("ub_rng_seed", None, POINTER(Rng), c_uint64)
_fn("ub_rng_derive", c_uint64, c_uint64, c_uint64, c_uint64)
_fn("ub_rng_below", c_uint64, POINTER(Rng), c_uint64)
