"""The project's trained weights (weights/, beside the code, where training/ writes them) go
into the installed package as kpopcam/weights/, so that `pip install .` (not editable) finds
them. Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("*.pt", "*.onnx", "*.json", "*.weights", "*.npz")


class BuildWithWeights(build_py):
    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "weights"
        target = Path(self.build_lib) / "kpopcam" / "weights"
        target.mkdir(parents=True, exist_ok=True)
        for pattern in SHIPPED:
            for path in sorted(source.glob(pattern)):
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildWithWeights})
