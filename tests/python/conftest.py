"""pytest set-up of unblur's Python tests: the package from python/, the library and program of a build.

UNBLUR_BUILD names the build folder (default: build/); its libunblur.so is used unless UNBLUR_LIBRARY
is already set, and its `unblur` program is the reference the tests compare against.
Run: UNBLUR_BUILD=build /usr/bin/python3 -m pytest -q tests/python   (scripts/test does it)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("UNBLUR_BUILD", os.path.join(ROOT, "build")))
os.environ.setdefault("UNBLUR_LIBRARY", os.path.join(BUILD, "libunblur.so"))
sys.path.insert(0, os.path.join(ROOT, "python"))
SHARED = os.environ.get("UNBLUR_SHARED", os.path.join(ROOT, "..", "shared"))
EXAMPLES = os.path.join(ROOT, "examples")


@pytest.fixture(scope="session")
def cli():
    """Runs the `unblur` program of the build; returns its CompletedProcess (check=True)."""
    exe = os.path.join(BUILD, "unblur")
    if not os.access(exe, os.X_OK):
        pytest.fail("%s is missing: build first (cmake --build %s)" % (exe, BUILD))

    def run(command, *args):
        return subprocess.run([exe, command, "--quiet", *map(str, args)], check=True, capture_output=True, text=True)
    return run


@pytest.fixture(scope="session")
def scene():
    import unblur
    return unblur.load_image(os.path.join(EXAMPLES, "scene.png"))


@pytest.fixture(scope="session")
def sharp_folder(tmp_path_factory):
    """A folder of sharp images: crops of the bundled scene in several sizes, one grey, one with alpha."""
    import numpy as np
    import unblur
    img = unblur.load_image(os.path.join(EXAMPLES, "scene.png"))
    d = tmp_path_factory.mktemp("sharp")
    unblur.save_image(d / "a.png", img)
    unblur.save_image(d / "b.png", np.ascontiguousarray(img[:300, 100:]), bits=16)
    unblur.save_image(d / "c.png", img.mean(axis=2, keepdims=True).astype(np.float32))
    rgba = np.concatenate([img[:280, :400], np.full((280, 400, 1), 0.5, np.float32)], axis=2)
    unblur.save_image(d / "d.png", rgba)
    unblur.save_image(d / "e.jpg", np.ascontiguousarray(img[::-1]), quality=90)
    return d
