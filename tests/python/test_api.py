"""unblur's Python API against the C API and the `unblur` program: synthesis, kernels, metrics, images,
errors, array validation, threads."""
import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import unblur
from unblur import _lib as L
from conftest import BUILD, EXAMPLES

SCENE = os.path.join(EXAMPLES, "scene.png")
DEPTH = os.path.join(EXAMPLES, "scene_depth.png")
MASK = os.path.join(EXAMPLES, "scene_mask.png")


def read_bytes(p):
    with open(p, "rb") as f:
        return f.read()


# ---- the same pixels as the C API and the program ----

def c_api_synth(path, preset, seed, index):
    """ub_image_read + ub_synth_run straight through ctypes: the C API's own float planes (C, H, W)."""
    ctx = unblur._Ctx(0)
    try:
        img, s, out = L.P_IMAGE(), L.Synth(), L.SynthSample()
        ctx.check(L.ub_image_read(ctx.h, path.encode(), img))
        ctx.check(L.ub_synth_create_preset(ctx.h, preset.encode(), s))
        ctx.check(L.ub_synth_run(s, L.SynthInputs(img, None, None), seed, index, out))
        planes = unblur._planes(out.blurred).copy()
        L.ub_synth_sample_free(out)
        L.ub_synth_destroy(s)
        L.ub_image_destroy(img)
        return planes
    finally:
        ctx.close()


@pytest.mark.parametrize("preset,seed,index", [("shake", 7, 3), ("realistic", 1, 0), ("linear", 2, 5)])
def test_synth_same_floats_as_c_api(scene, preset, seed, index):
    blurry, params = unblur.synth(scene, preset=preset, seed=seed, index=index)
    ref = c_api_synth(SCENE, preset, seed, index)
    assert blurry.dtype == np.float32 and blurry.shape == scene.shape
    assert np.array_equal(blurry, ref.transpose(1, 2, 0))  # bit for bit
    assert params["seed"] == seed and params["index"] == index


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("preset", ["shake", "realistic"])
def test_synth_same_png_bytes_as_cli(cli, tmp_path, bits, preset):
    src = SCENE
    if bits == 16:  # a 16-bit input makes `unblur synth` write 16 bits
        src = tmp_path / "scene16.png"
        cli("convert", SCENE, src, "--bits", "16")
    seed, index = 11, 4
    cli("synth", src, "-o", tmp_path / "cli.png", "--preset", preset, "--seed", seed, "--index", index,
        "--sharp-out", tmp_path / "cli_sharp.png", "--params-out", tmp_path / "cli.json")
    img = unblur.load_image(src)
    blurry, sharp, params = unblur.synth(img, preset=preset, seed=seed, index=index, return_sharp=True)
    unblur.save_image(tmp_path / "py.png", blurry, bits=bits)
    unblur.save_image(tmp_path / "py_sharp.png", sharp, bits=bits)
    assert read_bytes(tmp_path / "py.png") == read_bytes(tmp_path / "cli.png")
    assert read_bytes(tmp_path / "py_sharp.png") == read_bytes(tmp_path / "cli_sharp.png")
    assert params == json.loads(read_bytes(tmp_path / "cli.json"))


def test_synth_depth_and_mask_same_as_cli(cli, tmp_path, scene):
    cli("synth", SCENE, "-o", tmp_path / "cli.png", "--preset", "realistic", "--seed", 3, "--index", 2,
        "--depth", DEPTH, "--mask", MASK)
    mask = unblur.load_image(MASK)[:, :, 0]  # as an array (H, W)
    blurry, _ = unblur.synth(scene, preset="realistic", seed=3, index=2, depth=DEPTH, mask=mask)
    unblur.save_image(tmp_path / "py.png", blurry)
    assert read_bytes(tmp_path / "py.png") == read_bytes(tmp_path / "cli.png")


def test_synth_config_forms(tmp_path, scene):
    cfg = {"preset": "shake", "sensor": {"jpeg": {"p": 0}}}
    a, _ = unblur.synth(scene, config=cfg, seed=1)
    b, _ = unblur.synth(scene, config=json.dumps(cfg), seed=1)
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    c, _ = unblur.synth(scene, config=tmp_path / "c.json", seed=1)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    d, _ = unblur.synth(scene, config=cfg, seed=2)
    assert not np.array_equal(a, d)


def test_synth_grey_and_alpha(scene):
    grey = np.ascontiguousarray(scene.mean(axis=2)).astype(np.float32)
    b, _ = unblur.synth(grey, preset="shake")
    assert b.shape == grey.shape and b.dtype == np.float32  # 2-D in, 2-D out
    rgba = np.concatenate([scene, np.linspace(0, 1, scene.shape[1], dtype=np.float32)[None, :, None]
                           .repeat(scene.shape[0], 0)], axis=2)
    b, _ = unblur.synth(rgba, preset="shake")
    assert b.shape == rgba.shape and np.array_equal(b[:, :, 3], rgba[:, :, 3])  # alpha carried


def test_kernels_same_as_cli(cli, tmp_path):
    cli("kernels", "-o", tmp_path, "-n", 5, "--seed", 9, "--preset", "shake")
    ks = unblur.kernels(preset="shake", n=5, seed=9)
    assert len(ks) == 5
    for i, k in enumerate(ks):
        assert k.dtype == np.float32 and k.ndim == 2 and k.shape[0] % 2 == 1 and k.shape[1] % 2 == 1
        assert abs(float(k.sum()) - 1) < 1e-4
        scaled = (k.astype(np.float64) / float(k.max())).astype(np.float32)  # as ub_kernel_write
        unblur.save_image(tmp_path / ("py_%d.png" % i), scaled, bits=16)
        assert read_bytes(tmp_path / ("py_%d.png" % i)) == read_bytes(tmp_path / ("kernel_%04d.png" % i))
    # a sample's kernel is its synthesis's: synth's params name its size
    _, params = unblur.synth(unblur.load_image(SCENE), preset="shake", seed=9, index=2)
    assert params["kernel_size"] == [ks[2].shape[1], ks[2].shape[0]]


def test_metrics_same_as_cli(cli, tmp_path, scene):
    blurry, _ = unblur.synth(scene, preset="shake", seed=1)
    unblur.save_image(tmp_path / "b.png", blurry)
    b8 = unblur.load_image(tmp_path / "b.png")
    for shift in (0, 2):
        ref = json.loads(cli("metrics", SCENE, tmp_path / "b.png", "--json", "--shift", shift).stdout)
        m = unblur.metrics(scene, b8, shift=shift)
        assert m["psnr"] == pytest.approx(ref["psnr"], abs=1e-12)
        assert m["ssim"] == pytest.approx(ref["ssim"], abs=1e-12)
        assert unblur.psnr(scene, b8, shift=shift) == m["psnr"] and unblur.ssim(scene, b8, shift=shift) == m["ssim"]
    assert unblur.psnr(scene, scene) == float("inf") and unblur.ssim(scene, scene) == pytest.approx(1.0)
    # the sub-pixel refinement: the binding's structs match the library's (a mismatch once crashed here)
    ref = json.loads(cli("metrics", SCENE, tmp_path / "b.png", "--json", "--shift", 2, "--subpixel").stdout)
    m = unblur.metrics(scene, b8, shift=2, subpixel=True)
    assert m["psnr"] == pytest.approx(ref["psnr"], abs=1e-12)
    assert list(m["psnr_subpixel_offset"]) == ref["psnr_subpixel_offset"]
    with pytest.raises(unblur.Error, match="shift"):
        unblur.metrics(scene, b8, subpixel=True)


def test_images_round_trip(tmp_path, scene):
    rng = np.random.default_rng(0)
    a16 = (rng.integers(0, 65536, (37, 53, 4)) / 65535).astype(np.float32)
    unblur.save_image(tmp_path / "a.png", a16, bits=16)
    assert np.array_equal(unblur.load_image(tmp_path / "a.png"), a16)  # 16 bits round-trip exactly
    unblur.save_image(tmp_path / "s.jpg", scene, quality=90)
    j = unblur.load_image(tmp_path / "s.jpg")
    assert j.shape == scene.shape and unblur.psnr(scene, j) > 30
    grey = unblur.load_image(tmp_path / "a.png")[:, :, 0].copy()
    unblur.save_image(tmp_path / "g.png", grey, bits=16)
    g = unblur.load_image(tmp_path / "g.png")
    assert g.shape == (37, 53, 1) and np.array_equal(g[:, :, 0], grey)
    # results own their memory (never a view of a freed C image; grey (H, W, 1) once was one)
    for arr in (g, j, grey, unblur.synth(grey, preset="shake")[0], unblur.synth(g, preset="shake")[0]):
        assert arr.base is None and arr.flags.owndata


def test_srgb_curves():
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    lin = unblur.srgb_to_linear(x)
    ref = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    assert np.abs(lin - ref).max() < 1e-5
    assert np.abs(unblur.linear_to_srgb(lin) - x).max() < 1e-5
    assert x[500] == np.float32(0.5)  # the input is not modified


# ---- deblurring ----

def test_deblur_bundled_models(cli, tmp_path, scene, monkeypatch):
    img = np.ascontiguousarray(scene[:64, :96])
    monkeypatch.setenv("UNBLUR_MODELS", str(tmp_path / "empty"))
    with pytest.raises(unblur.Error, match="empty/default.safetensors: no such model"):
        unblur.deblur(img)
    monkeypatch.setenv("UNBLUR_MODELS", str(tmp_path))
    cli("model", "init", "-o", tmp_path / "default.safetensors", "--width", 8, "--blocks", 1, "--seed", 1)
    cli("model", "init", "-o", tmp_path / "fast.safetensors", "--width", 8, "--blocks", 1, "--seed", 2)
    assert unblur.find_model("fast") == str(tmp_path / "fast.safetensors")
    by_default = unblur.deblur(img, tile=-1)
    assert np.array_equal(by_default, unblur.Model(tmp_path / "default.safetensors")(img, tile=-1))
    assert np.array_equal(unblur.deblur(img, model="fast", tile=-1), unblur.Model("fast")(img, tile=-1))
    assert not np.array_equal(by_default, unblur.deblur(img, model="fast", tile=-1))
    with pytest.raises(unblur.Error, match="model name"):
        unblur.find_model("../x")
    flip2 = unblur.Model("default", ensemble=2)(img, tile=-1)
    mirrored = unblur.Model("default")(np.ascontiguousarray(img[:, ::-1]), tile=-1)[:, ::-1]
    assert np.abs(flip2 - (by_default + mirrored) / 2).max() < 1e-6
    with pytest.raises(ValueError, match="ensemble"):
        unblur.Model("default", ensemble=3)


def test_deblur_with_a_model(cli, tmp_path, scene):
    m = tmp_path / "m.safetensors"
    cli("model", "init", "-o", m, "--width", 8, "--blocks", 1, "--seed", 1)
    img = np.ascontiguousarray(scene[:64, :96])
    unblur.save_image(tmp_path / "in.png", img)
    out = unblur.deblur(img, model=m, tile=32)
    assert out.shape == img.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    whole = unblur.Model(m)(img, tile=-1)
    assert np.array_equal(out, whole)  # tiles equal the whole image (nn.h)
    subprocess.run([os.path.join(BUILD, "unblur"), str(tmp_path / "in.png"), "-o", str(tmp_path / "cli.png"),
                    "--method", "net", "--model", str(m), "--quiet"], check=True)
    unblur.save_image(tmp_path / "py.png", out)
    assert read_bytes(tmp_path / "py.png") == read_bytes(tmp_path / "cli.png")


# ---- errors ----

def test_errors_carry_the_message(tmp_path, scene):
    with pytest.raises(unblur.Error) as e:
        unblur.load_image(tmp_path / "missing.png")
    assert e.value.reason == "io" and e.value.status == -3 and "missing.png" in str(e.value)
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(unblur.Error) as e:
        unblur.load_image(tmp_path / "junk.png")
    assert e.value.reason == "format" and "junk.png" in str(e.value)
    with pytest.raises(unblur.Error, match="nope") as e:
        unblur.synth(scene, preset="nope")
    assert e.value.reason == "invalid"
    with pytest.raises(unblur.Error, match="wobble") as e:
        unblur.synth(scene, config={"shake": {"wobble": 1}})
    with pytest.raises(unblur.Error) as e:
        unblur.metrics(scene, scene[:100].copy())
    assert e.value.reason == "mismatch"
    with pytest.raises(unblur.Error) as e:
        unblur.Model(tmp_path / "junk.png")
    assert "junk.png" in str(e.value)
    with pytest.raises(unblur.Error, match="JPEG") as e:
        unblur.save_image(tmp_path / "x.jpg", np.zeros((4, 4, 4), np.float32))
    assert not os.path.exists(tmp_path / "x.jpg")
    # an error does not stick: the next call works
    assert unblur.synth(scene, preset="shake")[0].shape == scene.shape


# ---- array validation ----

@pytest.mark.parametrize("bad,exc,words", [
    (np.zeros((8, 8, 3), np.float64), TypeError, "float32"),
    (np.zeros((8, 8, 3), np.uint8), TypeError, "divide by 255"),
    ([[0.0, 1.0]], TypeError, "numpy"),
    (np.zeros((8, 8, 5), np.float32), ValueError, "channel"),
    (np.zeros((2, 8, 8, 3), np.float32), ValueError, "shape"),
    (np.zeros((8,), np.float32), ValueError, "shape"),
    (np.zeros((0, 8, 3), np.float32), ValueError, "empty"),
    (np.full((8, 8, 3), np.nan, np.float32), ValueError, "NaN"),
])
def test_bad_arrays_rejected(bad, exc, words, scene):
    for call in (lambda: unblur.synth(bad), lambda: unblur.psnr(scene, bad), lambda: unblur.save_image("/tmp/x.png", bad)):
        with pytest.raises(exc, match=words):
            call()


def test_bad_depth_and_mask(scene):
    with pytest.raises(ValueError, match="mask.*channel"):
        unblur.synth(scene, mask=scene)  # 3 channels
    with pytest.raises(unblur.Error) as e:
        unblur.synth(scene, preset="realistic", mask=np.zeros((10, 10), np.float32))
    assert e.value.reason in ("mismatch", "invalid")


def test_bad_arguments(scene):
    with pytest.raises(ValueError, match="seed"):
        unblur.synth(scene, seed=-1)
    with pytest.raises(ValueError):
        unblur.synth(scene, preset="shake", config={"preset": "shake"})
    with pytest.raises(ValueError, match="bits"):
        unblur.save_image("/tmp/x.png", scene, bits=12)
    with pytest.raises(ValueError, match="tile"):
        unblur.deblur(scene, model="/nonexistent.safetensors", tile=-5)


def test_strided_arrays_are_copied(scene):
    view = scene[::2, ::-1, :]  # not contiguous: copied into unblur's planar layout
    before = view.copy()
    a, _ = unblur.synth(view, preset="shake", seed=4)
    b, _ = unblur.synth(np.ascontiguousarray(view), preset="shake", seed=4)
    assert np.array_equal(a, b) and np.array_equal(view, before)


# ---- threads, the GIL, the library ----

def test_threads_give_the_same_result(scene):
    expected = [unblur.synth(scene, preset="shake", seed=5, index=i)[0] for i in range(4)]
    got = [None] * 4

    def work(i):
        got[i] = unblur.synth(scene, preset="shake", seed=5, index=i)[0]
    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))
    unblur.set_threads(1)
    try:
        assert np.array_equal(unblur.synth(scene, preset="shake", seed=5, index=2)[0], expected[2])
    finally:
        unblur.set_threads(0)


def test_gil_released_during_c_work():
    big = np.random.default_rng(1).random((1024, 1536, 3), dtype=np.float32)
    done = threading.Event()
    ticks = 0

    def work():
        unblur.synth(big, preset="realistic", seed=2, index=1)
        done.set()
    t = threading.Thread(target=work)
    t0 = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    took = time.perf_counter() - t0
    # with the GIL held during the C call this thread could not run at all while it lasted
    assert took > 0.05 and ticks > 10, (took, ticks)


def test_library_exports_only_the_public_api():
    out = subprocess.run(["nm", "-D", "--defined-only", L.path], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("nm is not available")
    names = [line.split()[-1] for line in out.stdout.splitlines() if line.strip()]
    assert names and all(n.startswith("ub_") for n in names), [n for n in names if not n.startswith("ub_")][:10]
    assert unblur.library_version() == unblur.__version__
