"""CycleGAN's history of generated images (Zhu et al. 2017, Sec. 4, after Shrivastava et al.):
D is updated on a mix of the latest and earlier generated images, so it cannot chase only the
generator's newest trick (reduces oscillation)."""
import random

import torch


class ImagePool:
    """Keeps up to ``size`` generated images. ``query(images)`` returns a batch of the same
    size where each image is, with probability 1/2 once the pool is full, swapped for a stored
    one (the new image taking its place). ``size`` 0 returns the batch unchanged."""

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.images = []
        self._random = random.Random(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self._random.random() < 0.5:
                index = self._random.randrange(self.size)
                out.append(self.images[index])
                self.images[index] = image
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        """The stored images and the swap draws' generator: a resumed translator's
        discriminators see the history they would have seen."""
        return {"images": list(self.images), "random": self._random.getstate()}

    def load_state_dict(self, state: dict) -> None:
        self.images = list(state["images"])
        self._random.setstate(state["random"])
