"""fastreid-rae: RAE (pixel and feature transfer fusion) for fastreid.

fastreid 1.4.0 itself is not listed: it pins torch==1.13.1, which cannot install on Python
3.11. Install it with ``pip install --no-deps fastreid==1.4.0``; its real imports are below.
"""
from setuptools import find_packages, setup

DEPLOY = ["onnx>=1.16", "onnxruntime>=1.18"]

setup(
    name="fastreid-rae",
    version="0.1.0",
    description="Recurrent Auto-Encoder for unsupervised cross-dataset person re-ID, on fastreid",
    packages=find_packages(include=["fastreid_rae", "fastreid_rae.*"]),
    license="Apache-2.0",
    python_requires=">=3.9",
    install_requires=[
        "torch>=2.0",
        "torchvision>=0.15",
        # fastreid 1.4.0's own imports (its pins are for torch 1.13 / Python 3.8):
        "faiss-cpu>=1.7.3",
        "scikit-learn>=1.2",
        "scipy",
        "tabulate",
        "tensorboard",
        "termcolor",
        "yacs>=0.1.8",
        "pyyaml",
        "matplotlib",  # fastreid.utils.visualizer; also our pictures
        "tqdm",  # progress bars on feature extraction, clustering, world generation
        "pillow",
        "opencv-python-headless",  # fastreid's dependency; the synthetic world's blur and resizing
        "numpy",
    ],
    extras_require={
        # tools/export.py's ONNX export (onnx) and its check, search of an export without
        # torch (onnxruntime); `make test` runs the export tests, so the test extra pulls them in
        "deploy": DEPLOY,
        "test": ["pytest>=7"] + DEPLOY,
    },
)
