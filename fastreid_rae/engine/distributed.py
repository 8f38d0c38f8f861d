"""Keeping the ranks of a multi-process run in step where DistributedDataParallel does not:
the parameters it cannot manage (resized target classifiers, the discriminators, whose
backward runs outside DDP's forward) and the BN statistics fastreid keeps per rank."""
import torch
import torch.distributed as dist
from fastreid.utils import comm


def unwrap(model):
    """The model itself, under a DistributedDataParallel wrapper or not."""
    return model.module if hasattr(model, "module") else model


def parameters_outside_ddp(model) -> dict:
    """RAE's parameters that DistributedDataParallel must not manage (the trainer tells DDP
    to ignore them; RAEStep averages their gradients itself): the target classifiers, which
    are re-sized every epoch while DDP keeps each parameter's first shape, and Dis_f / Dis_p,
    whose backward runs outside DDP's forward, where DDP's gradient hooks do nothing."""
    if not hasattr(model, "param_groups"):  # a plain fastreid model: DDP manages it all
        return {"generator": [], "discriminators": []}
    return {"generator": model.target_classifier_parameters(),
            "discriminators": model.param_groups()["discriminators"]}


def broadcast_parameters(parameters) -> None:
    """Rank 0's values on every rank (DDP does this for the parameters it manages)."""
    for parameter in parameters:
        dist.broadcast(parameter.data, src=0)


def average_buffers(model) -> None:
    """Average the BN running statistics over the ranks. fastreid's DDP wrap keeps them per
    rank (``broadcast_buffers=False``), so without this each rank would extract its share of
    the test or target features with a different model, and rank 0's checkpoint would not
    be the model that was evaluated."""
    if comm.get_world_size() == 1:
        return
    for buffer in unwrap(model).buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer.div_(comm.get_world_size())
        else:  # BN's num_batches_tracked: the same on every rank
            dist.broadcast(buffer, src=0)


def average_gradients(parameters) -> None:
    """Average the gradients over the ranks, as DDP does for the parameters it manages. A
    gradient missing on some rank counts as zero there; one missing on all stays None (so
    weight decay does not touch a parameter nothing used)."""
    if comm.get_world_size() == 1 or not parameters:
        return
    present = torch.tensor([p.grad is not None for p in parameters], dtype=torch.float32,
                           device=parameters[0].device)
    dist.all_reduce(present, op=dist.ReduceOp.MAX)  # every rank must reduce the same list
    for parameter, used in zip(parameters, present.tolist()):
        if not used:
            continue
        if parameter.grad is None:
            parameter.grad = torch.zeros_like(parameter)
        dist.all_reduce(parameter.grad)
        parameter.grad.div_(comm.get_world_size())
