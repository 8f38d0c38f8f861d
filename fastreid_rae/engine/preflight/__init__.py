"""Everything a run can be told is wrong before it builds a model, reads a batch or writes a file.

A UDA run takes hours. Without these checks a typo in DATASETS.TESTS surfaces at the final
evaluation, an unknown backend after the model is built, a corrupt image in the middle of an
epoch, and a second run pointed at the first one's OUTPUT_DIR replaces its config.yaml and
checkpoints before anything fails. ``preflight(cfg, args)`` runs every check on the merged
config and the command line; each raises one ``ConfigError`` (a key or a flag) or
``DatasetLayoutError`` (a path) saying what was expected. docs/errors.md lists the cases.

Three parts, one job each: ``config_checks`` (the config and the command line),
``output_folder`` (OUTPUT_DIR's policy) and ``dataset_checks`` (the data on disk).
"""
from ...checkpoint_files import CheckpointLoadError
from ...config_constraints import check_config_values
from ...data.datasets import DatasetLayoutError
from ..config_loading import ConfigError
from .config_checks import (check_batch, check_command_line, check_dataset_arguments, check_dataset_names,
                            check_device, check_input_sizes, check_named_choices, check_pretrained_weights,
                            check_rae_switches, check_schedule, check_source_model, check_weights)
from .dataset_checks import check_datasets_on_disk
from .output_folder import check_output_dir, check_output_path, clear_previous_run

# The errors a user fixes by editing the command, the config or the data (the tool prints
# them without a traceback).
INPUT_ERRORS = (ConfigError, DatasetLayoutError, CheckpointLoadError)


def preflight(cfg, args) -> None:
    """Check ``cfg`` and the command line ``args`` before a run builds or writes anything.

    Config-only checks come first (instant), then OUTPUT_DIR, then the datasets on disk
    (seconds: every image is opened). With ``--overwrite`` the previous run's files are
    removed last, once every check has passed.
    """
    eval_only, resume, overwrite = (getattr(args, flag, False)
                                    for flag in ("eval_only", "resume", "overwrite"))
    check_command_line(args)
    world_size = args.num_gpus * args.num_machines
    check_config_values(cfg)
    check_named_choices(cfg)
    check_rae_switches(cfg)
    check_dataset_names(cfg)
    check_dataset_arguments(cfg)
    check_input_sizes(cfg)
    check_device(cfg, args.num_gpus)
    check_weights(cfg, eval_only)
    check_pretrained_weights(cfg, eval_only)
    check_source_model(cfg, eval_only)
    if not eval_only:  # what only training reads; evaluating into a run's own folder is expected
        check_batch(cfg, world_size)
        check_schedule(cfg)
        check_output_dir(cfg.OUTPUT_DIR, resume, overwrite)
    else:  # tools/train_net.py evaluates into a folder of its own (engine/run_folder.py)
        check_output_path(cfg.OUTPUT_DIR)
    check_datasets_on_disk(cfg, eval_only)
    if overwrite and not eval_only:
        clear_previous_run(cfg.OUTPUT_DIR)
