"""Shared test fixtures.

Real pedestrian crops (CUHK03, CUHK01, Market / Duke / MSMT17 samples) live outside the
repository, wherever ``RAE_SHARED_DATA`` points; tests that need them skip with the reason
when it is unset or not a folder.
"""
import logging
import os
from pathlib import Path

import pytest
import torch

import fastreid_rae  # noqa: F401  (applies the fastreid compat shims before any test imports fastreid)

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = os.environ.get("RAE_SHARED_DATA")
    if not folder or not Path(folder).is_dir():
        pytest.skip(f"real re-ID crops not found (RAE_SHARED_DATA = {folder!r}; set it to their folder)")
    return Path(folder)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """The `tiny` synthetic world (market, duke and msmt; seed 0), generated once per session.

    Its card (``world_card.json``) records preset, seed and counts; point fastreid's
    Market1501 / DukeMTMC / MSMT17 loaders at the returned root.
    """
    from fastreid_rae.data.synthetic import generate_world

    root = tmp_path_factory.mktemp("synthetic") / "tiny_world"
    generate_world(root, preset="tiny", seed=0, domains=("market", "duke", "msmt"), progress=False)
    return root


@pytest.fixture(scope="module")
def single_thread():
    """Tiny tensors: a second intra-op thread only spins against other jobs on 2 cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def rae_log(caplog, monkeypatch):
    """caplog, seeing fastreid_rae's records even after a run's setup_logger (fastreid's)
    stopped them propagating to the root logger."""
    monkeypatch.setattr(logging.getLogger("fastreid_rae"), "propagate", True)
    return caplog
