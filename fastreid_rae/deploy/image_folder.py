"""The images of a camera network's folder: every image file under it, in a fixed order."""
import os
from typing import List

from .errors import DeployError
from .preprocessing import IMAGE_EXTENSIONS


def list_images(folder: str) -> List[str]:
    """Absolute paths of the image files (IMAGE_EXTENSIONS, any case) under ``folder`` and its
    sub-folders, sorted, so that the same folder always gives the same index rows."""
    if not os.path.isdir(folder):
        raise DeployError(f"image folder '{folder}' not found" if not os.path.exists(folder)
                          else f"'{folder}' is a file; expected a folder of images")
    found = [os.path.abspath(os.path.join(root, name))
             for root, _, names in os.walk(folder, followlinks=True)
             for name in names if name.lower().endswith(IMAGE_EXTENSIONS)]
    if not found:
        raise DeployError(f"image folder '{folder}' holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return sorted(found)
