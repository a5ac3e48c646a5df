"""Bundles libunblur.so into the package when UNBLUR_LIBRARY names it at install time (and the default
model once one ships at ../models/default.safetensors); the metadata is in pyproject.toml."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPy(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "unblur")
        lib = os.environ.get("UNBLUR_LIBRARY")
        if lib:
            if not os.path.isfile(lib):
                raise SystemExit("setup.py: UNBLUR_LIBRARY=%s is not a file (build libunblur.so first)" % lib)
            shutil.copyfile(os.path.realpath(lib), os.path.join(target, "libunblur.so"))
            print("setup.py: bundled %s as unblur/libunblur.so" % os.path.realpath(lib))
        elif os.path.exists(os.path.join(target, "libunblur.so")):  # left by an earlier build in build/
            os.remove(os.path.join(target, "libunblur.so"))
        model = os.path.join(HERE, "..", "models", "default.safetensors")
        if os.path.isfile(model):
            os.makedirs(os.path.join(target, "models"), exist_ok=True)
            shutil.copyfile(model, os.path.join(target, "models", "default.safetensors"))


class BinaryDistribution(Distribution):
    """The wheel may hold a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPy}, distclass=BinaryDistribution)
