"""Table IV's rows and the ablation runner (fastreid_rae/ablation, tools/ablation.py).

The rows: every row of every setting parses and switches exactly its modules. The runner:
two tiny configs x 2 seeds train through tools/train_net.py into a table and a chart, and a
second call trains nothing. Aggregation, resumability and errors on fabricated run folders.
"""
import math
import os
import runpy

import pytest
from PIL import Image

import fastreid_rae  # noqa: F401  (compat shims and registrations, before fastreid)
from fastreid.modeling import build_model

from fastreid_rae.ablation import (FINISHED, METRICS, NEW, PARTIAL, TABLE_IV, Run, Summary, Variant,
                                   ablation, bar_chart, config_variants, execute, find_row,
                                   load_config, markdown_table, plan_runs, row_names, row_variant,
                                   row_variants, run_state, summarise, sweep_plot, sweep_variants,
                                   train_command)
from fastreid_rae.ablation import plots
from fastreid_rae.engine.training_stage import training_stage
from fastreid_rae.evaluation import write_results
from fastreid_rae.translation import TranslatorTrainer

from .conftest import REPO_ROOT
from .test_paper_configs import flatten

# setting -> its pair config: the rows of each are built from it (fastreid_rae/ablation/rows.py)
SETTINGS = {"duke2market": "configs/RAE/duke2market.yml",
            "synthetic": "configs/RAE/synthetic/duke2market.yml",
            "cuhk03_2_cuhk01": "configs/RAE/cuhk03_2_cuhk01.yml",
            "cuhk03_2_cuhk01_cpu": "configs/RAE/cuhk_cpu/cuhk03_2_cuhk01.yml",
            "cuhk01_2_cuhk03_cpu": "configs/RAE/cuhk_cpu/cuhk01_2_cuhk03.yml",
            "imagenet_cpu": "configs/RAE/imagenet_cpu/cuhk03_2_cuhk01.yml"}
# The CPU-sized settings adapt the direct_transfer row's model: their other rows change the
# setting's <config>_from_source.yml instead, or, with a Dec, <config>_from_source_decoder_first.yml,
# which trains Dec on that model for this many epochs first; and that row, the source model, has
# its own schedule of Enc alone (<config>_direct_transfer.yml).
# setting -> (Dec-first epochs, adaptation epochs)
ADAPTS_SOURCE_MODEL = {"synthetic": (20, 5), "cuhk03_2_cuhk01_cpu": (1, 5), "cuhk01_2_cuhk03_cpu": (4, 5),
                       "imagenet_cpu": (1, 3)}
SOURCE_MODEL_SCHEDULE = {
    "synthetic": {"RAE.SOURCE_PRETRAIN.EPOCHS": 10},
    "cuhk03_2_cuhk01_cpu": {"RAE.SOURCE_PRETRAIN.EPOCHS": 4, "SOLVER.MAX_EPOCH": 4,
                             "SOLVER.STEPS": [3], "TEST.EVAL_PERIOD": 4},
    "cuhk01_2_cuhk03_cpu": {"RAE.SOURCE_PRETRAIN.EPOCHS": 10, "SOLVER.MAX_EPOCH": 10,
                             "SOLVER.STEPS": [8], "TEST.EVAL_PERIOD": 10},
    "imagenet_cpu": {"RAE.SOURCE_PRETRAIN.EPOCHS": 2, "SOLVER.MAX_EPOCH": 2, "SOLVER.STEPS": [2],
                     "TEST.EVAL_PERIOD": 2}}
# Table IV row -> (FT, PT, F, PT mode, has a target set)
ROWS = {"direct_transfer": (False, False, False, "post", False),
        "baseline": (False, False, False, "post", True),
        "ft": (True, False, False, "post", True),
        "pt": (False, True, False, "post", True),
        "ft_pt": (True, True, False, "post", True),
        "ft_pt_f": (True, True, True, "post", True),
        "pt_hat": (False, True, False, "pre", True),
        "ft_pt_hat": (True, True, False, "pre", True),
        "ft_pt_hat_f": (True, True, True, "pre", True)}
SWITCHES = ("RAE.FEATURE_TRANSFER.ENABLED", "RAE.PIXEL_TRANSFER.ENABLED", "RAE.FUSION.ENABLED",
            "RAE.PIXEL_TRANSFER.MODE", "DATASETS.TARGET")
CASES = [(setting, row) for setting in SETTINGS for row in ROWS]
TRANSLATOR = "logs/translator/here"


def setting_file(setting):
    return REPO_ROOT / SETTINGS[setting]


def synthetic_row(name):
    return row_variant(setting_file("synthetic"), name, TRANSLATOR)


# A run of a couple of steps: 74 tiny Duke-like images // 24 = 3 iterations (fastreid's timer
# needs 3), adapting from the start so the baseline pseudo-labels its target.
TINY_RUN = ["SOLVER.MAX_EPOCH", 1, "SOLVER.IMS_PER_BATCH", 24, "DATALOADER.NUM_WORKERS", 0,
            "TEST.EVAL_PERIOD", 1, "SOLVER.CHECKPOINT_PERIOD", 1, "RAE.SOURCE_PRETRAIN.EPOCHS", 0]


# ---- the configs ---------------------------------------------------------------------------

def test_the_rows_are_table_iv_and_each_backend_with_and_without_rae():
    assert list(TABLE_IV) == list(ROWS)
    for backend in ("dbscan", "kmeans", "mmcl", "jvtc", "memory_contrast"):
        assert {backend, f"{backend}_rae"} <= set(row_names())
    with pytest.raises(ValueError, match="unknown row 'ft_f'.*ft_pt_f"):
        find_row("ft_f")


def expected_translator_keys(row):
    """PT-hat rows read what tools/train_translator.py writes to --translator."""
    _, _, fusion, mode, _ = ROWS[row]
    if mode != "pre":
        return {}
    keys = {"RAE.TRANSLATOR.TRANSLATED_ROOT": f"{TRANSLATOR}/translated"}
    if fusion:
        keys["RAE.TRANSLATOR.WEIGHTS"] = f"{TRANSLATOR}/translator.pth"
    return keys


def row_base_file(setting, row):
    """The config a row changes: the setting's, or for a row adapting the source model, its
    from-source variant (and the source model's own schedule for the direct-transfer row)."""
    _, pt, _, mode, _ = ROWS[row]
    base_file = SETTINGS[setting]
    if setting in ADAPTS_SOURCE_MODEL:
        if row == "direct_transfer":
            suffix = "_direct_transfer"
        else:
            suffix = "_from_source_decoder_first" if pt and mode == "post" else "_from_source"
        base_file = base_file.replace(".yml", f"{suffix}.yml")
    return REPO_ROOT / base_file


@pytest.mark.parametrize("setting,row", CASES, ids=[f"{s}/{r}" for s, r in CASES])
def test_row_switches_its_modules_and_nothing_else(setting, row):
    ft, pt, fusion, mode, has_target = ROWS[row]
    variant = row_variant(setting_file(setting), row, TRANSLATOR)
    assert variant.config_file == row_base_file(setting, row)
    pair = flatten(load_config(Variant("pair", setting_file(setting))))
    base = flatten(load_config(Variant("base", variant.config_file)))
    cfg = flatten(load_config(variant))
    target = pair["DATASETS.TARGET"] if has_target else ""
    assert [cfg[key] for key in SWITCHES] == [ft, pt, fusion, mode, target]
    translator = expected_translator_keys(row)
    assert {key: cfg[key] for key in translator} == translator
    schedule = SOURCE_MODEL_SCHEDULE.get(setting, {}) if row == "direct_transfer" else {}
    assert {key: cfg[key] for key in schedule} == schedule
    changed = {key for key in base if base[key] != cfg[key]}
    assert changed <= {*SWITCHES, *translator}, f"{setting}/{row}: {changed}"


def test_pt_hat_rows_need_the_translator_folder():
    with pytest.raises(ValueError, match="pt_hat .*--translator"):
        row_variant(setting_file("synthetic"), "pt_hat")


@pytest.mark.parametrize("setting", ["synthetic", "imagenet_cpu"])
@pytest.mark.parametrize("backend", ["jvtc", "mmcl", "memory_contrast"])
@pytest.mark.parametrize("row", ["baseline", "ft_pt_f"])
def test_backend_rows_swap_only_the_backend(setting, backend, row):
    """"X" is the baseline with backend X, "X + RAE" the full RAE with it (Table V)."""
    name = backend if row == "baseline" else f"{backend}_rae"
    base = flatten(load_config(row_variant(setting_file(setting), row)))
    variant = flatten(load_config(row_variant(setting_file(setting), name)))
    assert {key for key in base if base[key] != variant[key]} == {"RAE.PSEUDO_LABEL.NAME"}
    assert variant["RAE.PSEUDO_LABEL.NAME"] == backend


def test_row_variants_train_the_source_model_first_when_a_row_adapts_it():
    variants, init_from = row_variants(setting_file("synthetic"), ["ft", "baseline", "ft"])
    assert [v.name for v in variants] == ["direct_transfer", "ft", "baseline"]
    assert init_from == "direct_transfer"
    variants, init_from = row_variants(setting_file("duke2market"), ["ft", "baseline"])
    assert [v.name for v in variants] == ["ft", "baseline"] and init_from is None  # from ImageNet


ADAPTING = [(setting, row) for setting in ADAPTS_SOURCE_MODEL for row in ROWS if row != "direct_transfer"]


@pytest.mark.parametrize("setting,row", ADAPTING, ids=[f"{s}/{r}" for s, r in ADAPTING])
def test_rows_adapt_the_source_model_for_the_same_epochs(setting, row):
    cfg = load_config(row_variant(setting_file(setting), row, TRANSLATOR), ["MODEL.WEIGHTS", "source.pth"])
    _, pt, _, mode, _ = ROWS[row]
    has_decoder = pt and mode == "post"
    assert cfg.RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL is True
    stages = [training_stage(cfg, epoch, has_decoder) for epoch in range(cfg.SOLVER.MAX_EPOCH)]
    # Enc is never trained on the source alone again; a Dec first trains on the frozen Enc
    decoder_epochs, adapt_epochs = ADAPTS_SOURCE_MODEL[setting]
    assert stages == ["decoder"] * (decoder_epochs if has_decoder else 0) + ["adapt"] * adapt_epochs
    # no decay, and the last epoch is evaluated
    assert cfg.SOLVER.STEPS == [cfg.SOLVER.MAX_EPOCH] and cfg.SOLVER.MAX_EPOCH % cfg.TEST.EVAL_PERIOD == 0


@pytest.mark.parametrize("pair", ["cuhk03_2_cuhk01", "cuhk01_2_cuhk03"])
def test_cpu_sized_cuhk_pair_is_the_synthetic_config_on_the_crops(pair):
    """Only the datasets, the schedule (epochs are passes over each source) and DBSCAN's
    neighbourhood (CUHK has 4-10 images per person) differ."""
    synthetic = flatten(load_config(Variant("synthetic", REPO_ROOT / SETTINGS["synthetic"])))
    cuhk = flatten(load_config(Variant(pair, REPO_ROOT / f"configs/RAE/cuhk_cpu/{pair}.yml")))
    changed = {key for key in synthetic if synthetic[key] != cuhk[key]}
    assert changed <= {"DATASETS.NAMES", "DATASETS.TARGET", "DATASETS.TESTS", "OUTPUT_DIR",
                       "RAE.SOURCE_PRETRAIN.EPOCHS", "RAE.SOURCE_PRETRAIN.DECODER_EPOCHS",
                       "SOLVER.MAX_EPOCH", "SOLVER.STEPS", "SOLVER.CHECKPOINT_PERIOD",
                       "TEST.EVAL_PERIOD", "RAE.PSEUDO_LABEL.DBSCAN.MIN_SAMPLES",
                       "RAE.PSEUDO_LABEL.DBSCAN.K1"}, changed
    assert {"DATASETS.NAMES", "DATASETS.TARGET", "DATASETS.TESTS"} <= changed


@pytest.mark.parametrize("row", list(ROWS))
def test_synthetic_row_builds_its_model(row, tmp_path):
    variant = row_variant(setting_file("synthetic"), row, translator=tmp_path)
    ft, pt, fusion, mode, _ = ROWS[row]
    if mode == "pre" and fusion:  # the fusion loads G_t2s: an untrained translator will do
        weights = TranslatorTrainer(load_config(variant), tmp_path).save()
        assert weights == tmp_path / "translator.pth"
    model = build_model(load_config(variant, ["MODEL.HEADS.NUM_CLASSES", 4]))
    # a switched-off module has no parameters at all (STYLE.md: no zero-weight ghosts); PT-hat
    # translates the images before Enc, so it has no Dec (Sec. IV-E)
    assert (model.feature_discriminator is not None) == ft
    assert (model.decoder is not None) == (pt and mode == "post")
    assert (model.fusion is not None) == fusion


# ---- variants and runs ---------------------------------------------------------------------

def test_config_variants_are_named_by_file_and_refuse_clashing_names(tmp_path):
    files = [REPO_ROOT / SETTINGS["synthetic"], REPO_ROOT / SETTINGS["cuhk03_2_cuhk01"]]
    assert [v.name for v in config_variants(files)] == ["duke2market", "cuhk03_2_cuhk01"]
    with pytest.raises(ValueError, match="same name"):
        config_variants([REPO_ROOT / SETTINGS["synthetic"], REPO_ROOT / SETTINGS["duke2market"]])
    with pytest.raises(FileNotFoundError, match="nope.yml"):
        config_variants([tmp_path / "nope.yml"])


def test_sweep_varies_one_loss_weight_at_a_time_and_shares_the_configured_point():
    curves = sweep_variants(REPO_ROOT / SETTINGS["synthetic"], [1, 10])
    configured = ("lambda_feat_gan_10_lambda_pix_gan_10", ())  # the config's own 10 and 10
    assert {param: [(value, v.name, v.overrides) for value, v in curve]
            for param, curve in curves.items()} == {
        "lambda_feat_gan": [(1.0, "lambda_feat_gan_1", ("RAE.LOSS.LAMBDA_FEAT_GAN", 1.0)),
                            (10.0, *configured)],
        "lambda_pix_gan": [(1.0, "lambda_pix_gan_1", ("RAE.LOSS.LAMBDA_PIX_GAN", 1.0)),
                           (10.0, *configured)]}
    # an override moves the configured point
    curves = sweep_variants(REPO_ROOT / SETTINGS["synthetic"], [1, 10],
                            overrides=["RAE.LOSS.LAMBDA_PIX_GAN", 1.0])
    assert [v.name for _, v in curves["lambda_pix_gan"]] == ["lambda_feat_gan_10_lambda_pix_gan_1",
                                                             "lambda_pix_gan_10"]
    with pytest.raises(ValueError, match="lambda_tri"):
        sweep_variants(REPO_ROOT / SETTINGS["synthetic"], [1], params=["lambda_tri"])


def test_a_bad_config_key_names_the_file_before_any_run(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(f"_BASE_: {synthetic_row('baseline').config_file}\nRAE:\n  NO_SUCH_KEY: 1\n")
    runs = plan_runs(config_variants([bad]), [0], tmp_path / "out")
    with pytest.raises(ValueError, match="bad.yml"):
        execute(runs, progress=lambda line: None)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="OUTPUT_DIR"):  # the runner's own key
        execute(plan_runs([synthetic_row("ft")], [0], tmp_path),
                ["OUTPUT_DIR", "elsewhere"])


def _fake_finished_run(run, metrics_by_dataset):
    """A run folder as tools/train_net.py leaves it, with the given results."""
    write_results(run.output_dir, metrics_by_dataset)
    (run.output_dir / "model_final.pth").write_bytes(b"")
    (run.output_dir / "last_checkpoint").write_text("model_final.pth")


def test_run_state_and_command(tmp_path):
    variant = Variant("ft", synthetic_row("ft").config_file, ("RAE.LOSS.LAMBDA_FEAT_GAN", 1.0))
    run = plan_runs([variant], [3], tmp_path)[0]
    assert run.output_dir == tmp_path.resolve() / "ft" / "seed3"
    assert run_state(run.output_dir) == NEW
    run.output_dir.mkdir(parents=True)
    (run.output_dir / "last_checkpoint").write_text("model_0004.pth")  # interrupted
    assert run_state(run.output_dir) == PARTIAL
    write_results(run.output_dir, {"Market1501": {"mAP": 1.0}})  # evaluated, not final
    assert run_state(run.output_dir) == PARTIAL
    (run.output_dir / "model_final.pth").write_bytes(b"")
    assert run_state(run.output_dir) == FINISHED

    command = train_command(run, ["DATASETS.ROOT", "/data"], python="py")
    assert command == ["py", str(REPO_ROOT / "tools/train_net.py"), "--config-file",
                       str(variant.config_file), "--resume", "DATASETS.ROOT", "/data",
                       "RAE.LOSS.LAMBDA_FEAT_GAN", "1.0", "SEED", "3",
                       "OUTPUT_DIR", str(run.output_dir)]


def test_init_from_gives_weights_only_to_configs_that_adapt_a_source_model(tmp_path):
    variants = [synthetic_row("ft"),  # adapts a source model
                Variant("paper_ft", REPO_ROOT / SETTINGS["duke2market"]),  # pre-trains its own
                synthetic_row("direct_transfer")]
    runs = plan_runs(variants, [0, 1], tmp_path, init_from="direct_transfer")
    assert [(run.variant.name, run.seed) for run in runs][:2] == [("direct_transfer", 0),
                                                                   ("direct_transfer", 1)]
    weights = {(run.variant.name, run.seed): run.weights for run in runs}
    assert weights[("ft", 1)] == tmp_path.resolve() / "direct_transfer/seed1/model_final.pth"
    assert weights[("paper_ft", 0)] is None and weights[("direct_transfer", 0)] is None
    with pytest.raises(ValueError, match="--init-from 'baseline' is not one of the variants"):
        plan_runs(variants, [0], tmp_path, init_from="baseline")


def test_a_failing_run_raises_with_its_config_and_log(tmp_path):
    failing = tmp_path / "failing_train_net.py"
    failing.write_text("import sys\nprint('CUDA out of memory')\nsys.exit(3)\n")
    runs = plan_runs([synthetic_row("baseline")], [0], tmp_path)
    expected = r"(?s)duke2market_from_source\.yml, seed 0.*exited with 3.*CUDA out of memory"
    with pytest.raises(RuntimeError, match=expected):
        execute(runs, train_script=failing, progress=lambda line: None)


# ---- aggregation and pictures on known numbers -----------------------------------------------

# per (variant, seed): mAP, Rank-1, Rank-5, Rank-10
KNOWN = {("baseline", 0): (40.0, 50.0, 60.0, 70.0), ("baseline", 1): (44.0, 54.0, 62.0, 71.0),
         ("baseline", 2): (42.0, 58.0, 64.0, 75.0), ("ft_pt_f", 0): (53.0, 72.5, 84.0, 87.5)}


def _known_runs(root):
    runs = []
    for (name, seed), values in KNOWN.items():
        run = Run(synthetic_row(name), seed, root / name / f"seed{seed}")
        _fake_finished_run(run, {"Market1501": dict(zip(METRICS, values), mINP=1.0)})
        runs.append(run)
    return runs


def test_summary_is_the_mean_and_sample_std_over_seeds(tmp_path):
    baseline, full = summarise(_known_runs(tmp_path))
    # by hand: mAP 40, 44, 42 -> mean 42, deviations -2, 2, 0 -> sqrt(8 / 2) = 2
    #          Rank-1 50, 54, 58 -> 54, sqrt(32 / 2) = 4; Rank-5 60, 62, 64 -> 62, 2
    #          Rank-10 70, 71, 75 -> 72, deviations -2, -1, 3 -> sqrt(14 / 2) = sqrt(7)
    assert (baseline.name, baseline.num_seeds) == ("baseline", 3)
    assert baseline.mean == pytest.approx(dict(zip(METRICS, (42.0, 54.0, 62.0, 72.0))))
    assert baseline.std == pytest.approx(dict(zip(METRICS, (2.0, 4.0, 2.0, math.sqrt(7)))))
    assert full.num_seeds == 1 and full.std == dict.fromkeys(full.std)  # one seed: no spread

    assert markdown_table([baseline, full]).splitlines() == [
        "| config | mAP | Rank-1 | Rank-5 | Rank-10 | seeds |",
        "|---|---:|---:|---:|---:|---:|",
        "| baseline | 42.0 ± 2.0 | 54.0 ± 4.0 | 62.0 ± 2.0 | 72.0 ± 2.6 | 3 |",
        "| ft_pt_f | 53.0 | 72.5 | 84.0 | 87.5 | 1 |"]


def test_summary_needs_the_test_set_named_when_a_run_has_several(tmp_path):
    run = Run(synthetic_row("baseline"), 0, tmp_path)
    metrics = {"mAP": 1.0, "Rank-1": 2.0, "Rank-5": 3.0, "Rank-10": 4.0}
    doubled = {key: 2 * value for key, value in metrics.items()}
    _fake_finished_run(run, {"Market1501": metrics, "DukeMTMC": doubled})
    with pytest.raises(ValueError, match="DukeMTMC"):
        summarise([run])
    assert summarise([run], dataset="DukeMTMC")[0].mean["mAP"] == 2.0
    with pytest.raises(ValueError, match="MSMT17"):
        summarise([run], dataset="MSMT17")


def _png_size(path):
    with Image.open(path) as image:
        return image.format, image.size


def _pixels_by_colour(path):
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 18)
    return {colour: count for count, colour in colours}


# matplotlib's first four cycle colours: mAP, Rank-1, Rank-5, Rank-10
CYCLE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]


def _summary(name, mAP):
    # Rank-k above mAP, as in any re-ID result: the curves and bars do not hide each other
    means = dict(zip(METRICS, (mAP, mAP + 20, mAP + 25, mAP + 30)))
    return Summary(name, 2, means, dict.fromkeys(METRICS, 1.0))


def test_charts_are_pngs_of_their_figure_size_with_every_metric_drawn(tmp_path):
    summaries = [_summary(f"row{i}", 5.0 * i) for i in range(9)]
    # 9 groups of bars: 1.1 x 9 + 2 = 11.9 x 4.5 inches at 100 dpi
    bars = bar_chart(summaries, tmp_path / "bars.png")
    assert _png_size(bars) == ("PNG", (1190, 450))
    # each metric's bars, not just its legend swatch (~200 pixels)
    pixels = _pixels_by_colour(bars)
    assert all(pixels.get(colour, 0) > 5000 for colour in CYCLE), [pixels.get(c) for c in CYCLE]

    points = {"lambda_feat_gan": list(zip([0.1, 1, 10, 100], summaries)),
              "lambda_pix_gan": list(zip([0.1, 1, 10, 100], summaries[4:]))}
    lines = sweep_plot(points, tmp_path / "sweep.png")
    assert _png_size(lines) == ("PNG", (1000, 400))
    pixels = _pixels_by_colour(lines)  # the mAP and Rank-1 curves of both panels
    assert all(pixels.get(colour, 0) > 1000 for colour in CYCLE[:2]), [pixels.get(c) for c in CYCLE[:2]]


def test_one_seed_charts_say_so_and_draw_no_error_bars():
    one_seed = [Summary("row", 1, dict.fromkeys(METRICS, 10.0), dict.fromkeys(METRICS))]
    assert plots.value_axis_label(one_seed) == "% (one seed)"
    assert plots.value_axis_label([_summary("a", 5.0), Summary("b", 3, {}, {})]) == "% (mean ± std over 2-3 seeds)"
    # NaN, not 0: matplotlib skips a NaN error bar, where 0 draws caps that read as exact
    assert all(math.isnan(error) for error in plots._errors(one_seed, "mAP"))
    assert plots._errors([_summary("a", 5.0)], "mAP") == [1.0]


def ablation_cli():
    """tools/ablation.py's main, run in this process (a new one spends seconds importing torch)."""
    return runpy.run_path(str(REPO_ROOT / "tools/ablation.py"), run_name="ablation_cli")["main"]


def test_sweep_command_reports_finished_runs_without_training(tmp_path, capsys):
    config = REPO_ROOT / SETTINGS["synthetic"]
    variants = {variant for curve in sweep_variants(config, [1, 10]).values() for _, variant in curve}
    for variant in variants:
        value = float(variant.overrides[1]) if variant.overrides else 10.0
        for seed in (0, 1):
            run = Run(variant, seed, tmp_path / variant.name / f"seed{seed}")
            mAP = value + seed + (10 if variant.name == "lambda_pix_gan_1" else 0)
            _fake_finished_run(run, {"Market1501": {"mAP": mAP, "Rank-1": 2 * mAP,
                                                    "Rank-5": 50.0, "Rank-10": 60.0}})
    ablation_cli()(["sweep", str(config), "--values", "1", "10", "--seeds", "0", "1",
                    "--output-root", str(tmp_path)])
    printed = capsys.readouterr().out
    # 3 runs x 2 seeds: the configured 10 / 10 is one run on both curves
    assert printed.count("finished earlier") == 6 and "done in" not in printed
    table = (tmp_path / "sweep.md").read_text()
    # the configured point, seeds 0 and 1: mAP 10 and 11 -> 10.5 ± 0.7 (sqrt(0.5) = 0.707)
    assert table.count("| lambda_feat_gan_10_lambda_pix_gan_10 | 10.5 ± 0.7 | 21.0 ± 1.4 | 50.0 ± 0.0 "
                       "| 60.0 ± 0.0 | 2 |") == 2
    assert "| lambda_pix_gan_1 | 11.5 ± 0.7 |" in table
    assert _png_size(tmp_path / "sweep.png") == ("PNG", (1000, 400))


def test_command_line_errors_are_one_line_naming_the_file(tmp_path):
    with pytest.raises(SystemExit, match=r"^error: .*nope\.yml"):
        ablation_cli()(["run", str(tmp_path / "nope.yml"), "--output-root", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"^error: .*nope\.yml"):
        ablation_cli()(["run", str(tmp_path / "nope.yml"), "--rows", "ft", "--output-root", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"^error: --rows takes one config"):
        ablation_cli()(["run", str(setting_file("synthetic")), str(setting_file("duke2market")),
                        "--rows", "ft", "--output-root", str(tmp_path)])


# ---- the runner end to end -----------------------------------------------------------------

@pytest.fixture
def one_thread_children(monkeypatch):
    # tiny tensors: a second intra-op thread per training process only spins on 2 shared cores
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_ablation_trains_two_configs_x_two_seeds_then_resumes_without_training(
        tiny_world, tmp_path, capsys, one_thread_children):
    names = ("baseline", "direct_transfer")  # the source model's runs are trained first anyway
    overrides = ["DATASETS.ROOT", str(tiny_world), *TINY_RUN]
    lines = []
    variants, init_from = row_variants(setting_file("synthetic"), names)
    written = ablation(variants, [0, 1], tmp_path, overrides, init_from=init_from,
                       progress=lines.append)

    runs = [tmp_path / name / f"seed{seed}" for name in names for seed in (0, 1)]
    assert all(run_state(run) == FINISHED for run in runs)
    assert [line.split(":")[0] for line in lines if "done in" in line] == [
        "[1/4] direct_transfer seed 0", "[2/4] direct_transfer seed 1",
        "[3/4] baseline seed 0", "[4/4] baseline seed 1"]
    for seed in (0, 1):  # each baseline adapted the source model of its own seed
        dumped = (tmp_path / f"baseline/seed{seed}/config.yaml").read_text()
        assert f"SEED: {seed}" in dumped
        assert f"WEIGHTS: {tmp_path.resolve() / f'direct_transfer/seed{seed}/model_final.pth'}" in dumped
    table = written["table"].read_text()
    assert table.index("| baseline |") < table.index("| direct_transfer |")  # as given
    assert "Test set: Market1501" in table
    for name in names:
        row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
        assert row.endswith("| 2 |") and row.count("±") == 4
    assert _png_size(written["chart"]) == ("PNG", (600, 450))

    # again, through the command line: every run is kept, none is retrained
    finals = {run: os.path.getmtime(run / "model_final.pth") for run in runs}
    ablation_cli()(["run", str(setting_file("synthetic")), "--rows", *names, "--seeds", "0", "1",
                    "--output-root", str(tmp_path), "--opts", *map(str, overrides)])
    printed = capsys.readouterr().out
    assert printed.count("finished earlier") == 4 and "done in" not in printed
    assert {run: os.path.getmtime(run / "model_final.pth") for run in runs} == finals
    assert table in printed and written["table"].read_text() == table
