"""Table IV and Fig. 6 of the paper, measured: train a setting's rows (or any configs) x seeds
(resumably), then tabulate and plot mean +- std of fastreid's metrics. ``tools/ablation.py`` is
the command line."""
from .experiments import ablation, sweep
from .plots import bar_chart, sweep_plot
from .rows import TABLE_IV, find_row, row_names, row_variant, row_variants
from .runs import FINISHED, NEW, PARTIAL, Run, execute, plan_runs, run_state, train_command
from .summary import METRICS, Summary, markdown_table, mean_and_std, run_metrics, summarise
from .variants import SWEEP_KEYS, Variant, config_variants, load_config, sweep_variants

__all__ = ["FINISHED", "METRICS", "NEW", "PARTIAL", "SWEEP_KEYS", "TABLE_IV", "Run", "Summary",
           "Variant", "ablation", "bar_chart", "config_variants", "execute", "find_row",
           "load_config", "markdown_table", "mean_and_std", "plan_runs", "row_names", "row_variant",
           "row_variants", "run_metrics", "run_state", "summarise", "sweep", "sweep_plot",
           "sweep_variants", "train_command"]
