"""The before/after portrait example in the README, from a redistributable photo.

    python assets/make_portrait_example.py

NASA's public-domain astronaut photo (Eileen Collins) from scikit-image, made into a portrait
exactly as `kpopcam portrait` makes one (shipped U-Net, faces found by MTCNN, default
strength and lens), written beside the original into assets/portrait_before_after.jpg.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data

from kpopcam.vision.portrait import PortraitMaker

OUT = Path(__file__).resolve().parent / "portrait_before_after.jpg"


def main() -> None:
    torch.set_num_threads(1)
    photo = data.astronaut()
    portrait = PortraitMaker().render(photo)
    Image.fromarray(np.hstack([photo, portrait])).save(OUT, quality=90)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
