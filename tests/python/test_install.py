"""The documented ways in: `pip install --no-build-isolation` into a venv of Debian's Python, offline
(--no-index: nothing may come from a registry), bundling the build's libunblur.so; and `cmake --install`
(libunblur.so, headers, unblur.pc) used from C through pkg-config and from Python through the loader."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT

PY = "/usr/bin/python3"
CHECK = ("import unblur, numpy as np; img = unblur.load_image(%r); b, p = unblur.synth(img, preset='shake', seed=1);"
         " print(unblur.library_path); print(b.shape, round(unblur.psnr(img, b), 6))")
SCENE = os.path.join(ROOT, "examples", "scene.png")


def run(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, "%s failed:\n%s\n%s" % (" ".join(map(str, cmd)), r.stdout[-3000:], r.stderr[-3000:])
    return r.stdout


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("UNBLUR_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env.update(extra)
    return env


def reference_output():
    r = subprocess.run([sys.executable, "-c", CHECK % SCENE], capture_output=True, text=True, check=True,
                       env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))
    return r.stdout.splitlines()[1]


def test_pip_install_offline_in_a_venv(tmp_path):
    if not os.access(PY, os.X_OK):
        pytest.skip("%s is absent (Debian's Python)" % PY)
    venv = tmp_path / "venv"
    r = subprocess.run([PY, "-m", "venv", "--system-site-packages", str(venv)], capture_output=True, text=True)
    if r.returncode != 0 and "ensurepip" in r.stdout + r.stderr:
        pytest.skip("python3 -m venv cannot make a venv with pip here (Debian: apt-get install python3-venv)")
    assert r.returncode == 0, r.stderr
    src = tmp_path / "src"  # a copy: the in-tree build writes build/ and *.egg-info beside the sources
    shutil.copytree(os.path.join(ROOT, "python"), src, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                                     "__pycache__", "*.so"))
    lib = os.path.join(BUILD, "libunblur.so")
    run([venv / "bin" / "pip", "install", "--no-build-isolation", "--no-index", "--no-cache-dir", src],
        env=clean_env(UNBLUR_LIBRARY=lib))
    out = run([venv / "bin" / "python", "-c", CHECK % SCENE], env=clean_env(), cwd=tmp_path).splitlines()
    assert out[0].startswith(str(venv)) and out[0].endswith("unblur/libunblur.so")  # the bundled copy
    assert out[1] == reference_output()


def test_cmake_install_pkg_config(tmp_path):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", BUILD, "--prefix", prefix])
    libdir = next(p for p in (prefix / "lib", prefix / "lib64", prefix / "lib" / "x86_64-linux-gnu")
                  if (p / "libunblur.so").exists())
    assert (prefix / "include" / "unblur.h").exists() and (prefix / "include" / "unblur" / "synth.h").exists()
    pc = (libdir / "pkgconfig" / "unblur.pc").read_text()
    assert "Version: 0.1.0" in pc
    prog = tmp_path / "use.c"
    prog.write_text('#include <stdio.h>\n#include <unblur.h>\nint main(void) {\n'
                    '    ub_ctx *ctx; ub_image *img;\n'
                    '    if (ub_ctx_create(&ctx, NULL) != UB_OK) return 1;\n'
                    '    if (ub_image_read(ctx, "%s", &img) != UB_OK) { puts(ub_last_error(ctx)); return 1; }\n'
                    '    printf("%%s %%lldx%%lld\\n", ub_version(), (long long)img->width, (long long)img->height);\n'
                    '    ub_image_destroy(&img); ub_ctx_destroy(&ctx); return 0;\n}\n' % SCENE)
    env = clean_env(PKG_CONFIG_PATH=str(libdir / "pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", "unblur"], env=env).split()
    run(["cc", "-std=c11", "-Wall", "-Werror", str(prog), "-o", str(tmp_path / "use")] + flags, env=env)
    out = run([tmp_path / "use"], env=clean_env(LD_LIBRARY_PATH=str(libdir)))
    assert out.strip() == "0.1.0 480x320"
    # Python finds the installed library through the loader (no UNBLUR_LIBRARY, nothing bundled)
    out = run([sys.executable, "-c", CHECK % SCENE],
              env=clean_env(LD_LIBRARY_PATH=str(libdir), PYTHONPATH=os.path.join(ROOT, "python"))).splitlines()
    assert os.path.realpath(out[0]).startswith(str(prefix)) or out[0] == "libunblur.so.0"
    assert out[1] == reference_output()
