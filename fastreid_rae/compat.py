"""Make fastreid 1.4.0 import and run on torch 2.x, numpy 2, faiss 1.8+ and Python 3.11.

fastreid 1.4.0 was written for torch 1.13 / Python 3.8 and pins them. Each shim below is
one small function that names the upstream line it replaces and why; ``apply()`` runs
them all once. ``import fastreid_rae`` calls it before any other module of ours imports
fastreid, so users never see the breakage. ``tests/test_compat.py`` pins every shim.
"""
import collections
import collections.abc
import functools
import logging
import os
import sys
import types
import warnings

import numpy as np
import torch

logger = logging.getLogger(__name__)

_APPLIED = False


# ---- shims that must exist before fastreid is imported ----------------------------------

def _provide_torch_six():
    """``fastreid/data/build.py:11 from torch._six import string_classes``: torch 2 removed
    ``torch._six``; it only ever served ``string_classes == (str, bytes)``."""
    if "torch._six" not in sys.modules:
        six = types.ModuleType("torch._six")
        six.string_classes = (str, bytes)
        sys.modules["torch._six"] = six


def _provide_collections_abcs():
    """``fastreid/data/build.py:12`` and ``evaluation/testing.py:5 from collections import
    Mapping``: the aliases were removed from ``collections`` in Python 3.10."""
    for name in ("Mapping", "MutableMapping", "Sequence", "Iterable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def _provide_faiss_long_ptr():
    """``fastreid/utils/faiss_utils.py:19 faiss.cast_integer_to_long_ptr``: faiss 1.7.3
    renamed it ``cast_integer_to_idx_t_ptr`` (idx_t is int64, the same type)."""
    import faiss

    if not hasattr(faiss, "cast_integer_to_long_ptr"):
        faiss.cast_integer_to_long_ptr = faiss.cast_integer_to_idx_t_ptr


def _silence_cython_ranker_warning():
    """``fastreid/evaluation/rank.py:14`` warns at import that the Cython ranker is missing.
    The wheel never ships it compiled, and the python ranker gives the same numbers, so the
    warning is noise on every run."""
    warnings.filterwarnings("ignore", message="Cython rank evaluation", category=UserWarning)
    warnings.filterwarnings("ignore", message="Cython roc evaluation", category=UserWarning)


# ---- shims that patch fastreid's modules after import ------------------------------------

def _numpy2_safe_to_tensor(pic):
    """PIL/ndarray -> CHW tensor, as ``fastreid.data.transforms.functional.to_tensor``."""
    if isinstance(pic, np.ndarray):
        array = pic
    else:
        array = np.asarray(pic)
        if pic.mode == "1":
            array = array.astype(np.uint8) * 255
    if array.ndim == 2:
        array = array[:, :, None]
    image = torch.from_numpy(array.transpose((2, 0, 1)).copy())
    return image.float() if image.dtype == torch.uint8 else image


def _patch_to_tensor():
    """``fastreid/data/transforms/functional.py:38-44 np.array(pic, dtype, copy=False)``
    raises under numpy 2 whenever a copy is needed (always, for a PIL image), and line 46
    uses the deprecated ``torch.ByteStorage``. ``transforms.py`` imported the function by
    name, so both references are replaced."""
    from fastreid.data.transforms import functional, transforms

    functional.to_tensor = _numpy2_safe_to_tensor
    transforms.to_tensor = _numpy2_safe_to_tensor


def _patch_read_image_as_rgb():
    """``fastreid/data/common.py:40 read_image(img_path)`` in ``CommDataset`` keeps the file's mode: an RGBA or
    palette PNG, a CMYK JPEG or a greyscale image reached the transforms with 4, 4 or 1
    channels and crashed the batch hours into a run, without naming the file. Every image is
    now decoded as RGB (pre-flight refuses, by name, those that cannot be: 16-bit samples)."""
    from fastreid.data import common, data_utils

    def read_image(file_name, format=None):
        return data_utils.read_image(file_name, format or "RGB")

    common.read_image = read_image


def _patch_dataloader_without_cuda():
    """``fastreid/data/data_utils.py:151 torch.cuda.Stream(local_rank)`` in ``DataLoaderX``,
    and line 127 ``torch.cuda.set_device`` in its prefetch thread, fail without CUDA; the
    thread then dies and the trainer waits on its queue forever. Without CUDA the loader
    is a plain ``DataLoader`` (worker processes already prefetch; the model moves batches
    to its own device), and memory is not pinned."""
    from fastreid.data import build, data_utils

    upstream = data_utils.DataLoaderX
    if getattr(upstream, "_rae_cuda_optional", False):
        return

    class DataLoaderX(upstream):
        _rae_cuda_optional = True

        def __init__(self, local_rank, **kwargs):
            if torch.cuda.is_available():
                super().__init__(local_rank, **kwargs)
                return
            kwargs["pin_memory"] = False
            torch.utils.data.DataLoader.__init__(self, **kwargs)
            self.stream = None
            self.local_rank = local_rank

        def __iter__(self):
            if self.stream is None:
                return torch.utils.data.DataLoader.__iter__(self)
            return super().__iter__()

    data_utils.DataLoaderX = DataLoaderX
    build.DataLoaderX = DataLoaderX


def _patch_jaccard_cpu_fallback():
    """``fastreid/utils/compute_dist.py:53`` calls ``compute_jaccard_distance(...,
    search_option=0)``, whose lines 66-78 move features to CUDA and build GPU faiss
    resources. Without a GPU, the re-ranking path now uses the CPU index (option 3)."""
    import faiss
    from fastreid.utils import compute_dist

    upstream = compute_dist.compute_jaccard_distance
    if getattr(upstream, "_rae_cpu_fallback", False):
        return

    def compute_jaccard_distance(features, k1=20, k2=6, search_option=0, fp16=False):
        if not torch.cuda.is_available() or faiss.get_num_gpus() == 0:
            search_option = 3
        return upstream(features, k1=k1, k2=k2, search_option=search_option, fp16=fp16)

    compute_jaccard_distance._rae_cpu_fallback = True
    compute_dist.compute_jaccard_distance = compute_jaccard_distance


def _patch_python_ranker():
    """``fastreid/evaluation/reid_evaluation.py:38`` compiles the Cython ranker with
    ``make`` on first use, and ``rank_cylib/__init__.py:20`` calls ``sys.exit(1)`` when that
    fails (no Cython, no compiler): evaluation would kill training. Its pure-python fallback
    ``rank.py:156`` fails on galleries where a query keeps fewer than 50 images. Without the
    Cython module, evaluation quietly uses our vectorised ranker (same numbers; the
    Market-protocol path, which ReidEvaluator always takes)."""
    from fastreid.evaluation import rank, reid_evaluation

    from .evaluation.rank import evaluate_rank

    if rank.IS_CYTHON_AVAI:
        return
    reid_evaluation.ReidEvaluator._compile_dependencies = lambda self: None
    rank.evaluate_rank = evaluate_rank


def _patch_contiguous_params_zero_grad():
    """``fastreid/solver/build.py:174`` optimises one flat buffer per parameter group
    (``ContiguousParams``) whose ``.grad`` is a buffer the parameters' grads are views of.
    ``engine/train_loop.py:248`` calls ``optimizer.zero_grad()``, which since torch 2.0
    sets that ``.grad`` to None: the optimizer then skips every buffer and the model never
    trains, silently (the loss stays at chance). Such optimizers zero in place instead."""
    import fastreid.solver
    from fastreid.engine import defaults
    from fastreid.solver import build

    upstream = build.build_optimizer
    if getattr(upstream, "_rae_zero_grad_in_place", False):
        return

    def build_optimizer(cfg, model, contiguous=True):
        optimizer, param_wrapper = upstream(cfg, model, contiguous=contiguous)
        if contiguous:
            optimizer.zero_grad = functools.partial(optimizer.zero_grad, set_to_none=False)
        return optimizer, param_wrapper

    build_optimizer._rae_zero_grad_in_place = True
    for module in (build, fastreid.solver, defaults):  # each imported the name itself
        module.build_optimizer = build_optimizer


def _patch_resnet_imagenet_weights():
    """``fastreid/modeling/backbones/resnet.py:248 import gdown`` (a package fastreid does not
    declare) fetches ImageNet weights into a cache of its own: every config with
    ``MODEL.BACKBONE.PRETRAIN True`` crashed there. ResNets now take torchvision's weights
    through torch hub's cache (``modeling/backbones/imagenet.py``), which pre-flight has
    checked before the model is built."""
    from fastreid.modeling.backbones import resnet

    def init_pretrained_weights(key):
        from .modeling.backbones.imagenet import resnet_imagenet_state_dict

        return resnet_imagenet_state_dict(key)

    resnet.init_pretrained_weights = init_pretrained_weights


class _ModelMismatch(Exception):
    """Raised inside ``Checkpointer._load_model``, which does not know the file's path."""


def _patch_checkpoint_loading():
    """Two holes in ``fastreid/utils/checkpoint.py``: ``:216 torch.load`` unpickles anything
    (``load_checkpoint_file``), and ``:250-266 _load_model`` loads with ``strict=False`` and
    only logs missing, unexpected and mis-shaped keys: a ResNet-34 config evaluated ResNet-18
    weights as a half-random model, and a file of unrelated keys as a random one, exit 0.
    Every key must now fit. ``checkpointer.partial_load = True`` allows a deliberate partial
    load (RAE.CHECKPOINT.PARTIAL_LOAD: a source model into RAE, whose Dec, discriminators
    and fusion start fresh): missing and unexpected keys are logged, mis-shaped ones and a
    file that fills nothing are still refused."""
    from fastreid.utils.checkpoint import Checkpointer

    from .checkpoint_files import CheckpointLoadError, load_checkpoint_file, model_fit_problems

    upstream_load, upstream_load_model = Checkpointer.load, Checkpointer._load_model

    def _load_model(self, checkpoint):
        state = checkpoint.get("model") if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict) or not all(isinstance(value, (torch.Tensor, np.ndarray))
                                                  for value in state.values()):
            raise _ModelMismatch("it holds no 'model' state dict of tensors")
        saved_keys = len(state)
        incompatible = upstream_load_model(self, checkpoint)
        problems = model_fit_problems(self.model, incompatible)
        loaded = saved_keys - len(incompatible.unexpected_keys) - len(incompatible.incorrect_shapes)
        partial = getattr(self, "partial_load", False)
        if problems and (not partial or "mis-shaped" in problems or loaded == 0):
            raise _ModelMismatch("; ".join(f"{kind}: {keys}" for kind, keys in problems.items()))
        if problems:
            logger.warning(f"partial load (RAE.CHECKPOINT.PARTIAL_LOAD): {loaded} tensors loaded; "
                           + "; ".join(f"{kind}: {keys}" for kind, keys in problems.items()))
        return incompatible._replace(missing_keys=[], unexpected_keys=[], incorrect_shapes=[])

    def load(self, path, *args, **kwargs):
        try:
            return upstream_load(self, path, *args, **kwargs)
        except _ModelMismatch as mismatch:
            raise CheckpointLoadError(f"checkpoint '{path}' does not fit the model built from the "
                                      f"config: {mismatch}; expected the weights of this same "
                                      f"architecture") from None

    Checkpointer._load_file = lambda self, f: load_checkpoint_file(f)
    Checkpointer._load_model = _load_model
    Checkpointer.load = load


def _patch_metric_printer_same_iteration():
    """``fastreid/utils/events.py:219`` estimates the ETA from the iterations since its last
    write and divides by zero when it writes twice at one iteration before the timer has
    warmed up (a run resumed a few steps before an epoch's end): the run crashed there."""
    from fastreid.utils.events import CommonMetricPrinter, get_event_storage

    write = CommonMetricPrinter.write

    @functools.wraps(write)
    def write_once_per_iteration(self):
        if self._last_write is not None and self._last_write[0] == get_event_storage().iter:
            self._last_write = None  # no interval to estimate from: no ETA this time
        return write(self)

    CommonMetricPrinter.write = write_once_per_iteration


def _patch_atomic_checkpoint_saving():
    """``fastreid/utils/checkpoint.py:93`` torch.saves straight into ``model_XXXX.pth`` and
    ``:201`` rewrites ``last_checkpoint`` in place: a kill during either leaves a truncated
    file that ``--resume`` then fails on, and the run is lost. Both now write a temporary
    file and rename it, the checkpoint first and its ``last_checkpoint`` tag last."""
    from fastreid.utils.checkpoint import Checkpointer

    from .atomic import atomic_open

    def save(self, name, **kwargs):
        if not self.save_dir or not self.save_to_disk:
            return
        data = {"model": self.model.state_dict()}
        data.update({key: obj.state_dict() for key, obj in self.checkpointables.items()})
        data.update(kwargs)
        basename = f"{name}.pth"
        save_file = os.path.join(self.save_dir, basename)
        self.logger.info(f"Saving checkpoint to {save_file}")
        with atomic_open(save_file, "wb") as f:
            torch.save(data, f)
        self.tag_last_checkpoint(basename)

    def tag_last_checkpoint(self, last_filename_basename):
        with atomic_open(os.path.join(self.save_dir, "last_checkpoint"), "w") as f:
            f.write(last_filename_basename)

    Checkpointer.save = save
    Checkpointer.tag_last_checkpoint = tag_last_checkpoint


def _patch_ddp_wrap():
    """``fastreid/engine/defaults.py:210 DistributedDataParallel(model,
    device_ids=[comm.get_local_rank()], broadcast_buffers=False)``: ``device_ids`` must be
    None for a CPU module (DDP refuses it otherwise, so no CPU / gloo run could start), and
    without ``find_unused_parameters`` DDP fails on the next step whenever a parameter got
    no gradient, which RAE's stages do by design (source pre-training trains Enc, then Dec;
    the memory backends skip the target classifier; frozen discriminators in the generator
    pass). The name ``defaults.py`` imported is replaced; everything else is DDP's."""
    from fastreid.engine import defaults
    from torch.nn.parallel import DistributedDataParallel

    def wrap(module, device_ids=None, **kwargs):
        on_cpu = next(module.parameters()).device.type == "cpu"
        kwargs.setdefault("find_unused_parameters", True)
        return DistributedDataParallel(module, device_ids=None if on_cpu else device_ids, **kwargs)

    defaults.DistributedDataParallel = wrap


def apply():
    """Apply every shim once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _provide_torch_six()
    _provide_collections_abcs()
    _provide_faiss_long_ptr()
    _silence_cython_ranker_warning()
    _patch_to_tensor()
    _patch_read_image_as_rgb()
    _patch_dataloader_without_cuda()
    _patch_jaccard_cpu_fallback()
    _patch_python_ranker()
    _patch_contiguous_params_zero_grad()
    _patch_resnet_imagenet_weights()
    _patch_checkpoint_loading()
    _patch_atomic_checkpoint_saving()
    _patch_metric_printer_same_iteration()
    _patch_ddp_wrap()
    _APPLIED = True


apply()
