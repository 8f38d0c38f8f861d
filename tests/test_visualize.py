"""tools/visualize.py and fastreid_rae.visualization on a real tiny RAE run: each picture's
pixel size follows its layout, rank-list borders tell true matches, and reconstruction
refuses a model without a decoder."""
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import fastreid_rae  # noqa: F401
from fastreid.modeling import build_model
from fastreid_rae.visualization import (
    ModelSource, VisualizationError, draw_tsne, load_config, rank_models, read_metrics, render_ranklist,
)
from fastreid_rae.checkpoint_files import CheckpointLoadError
from fastreid_rae.visualization import gradients
from fastreid_rae.visualization.canvas import GridLayout
from fastreid_rae.visualization.curves import curves_size, pseudo_label_epochs, quality_points
from fastreid_rae.visualization.ranklist import (
    BORDER, CORRECT, WRONG, queries_with_matches, ranklist_layout, top_k_gallery,
)
from fastreid_rae.visualization.reconstruct import reconstruct_layout
from fastreid_rae.visualization.samples import choose_indices
from fastreid_rae.visualization.tsne import PANEL_SIZE

from .conftest import REPO_ROOT
from .test_uda_training import _cfg, _train


# a quarter of the configs' pixels and half their batch: the pictures need a trained model of
# the real architecture, not a good one, and the machine is shared
SMALL_AND_FAST = ["INPUT.SIZE_TRAIN", [32, 16], "INPUT.SIZE_TEST", [32, 16], "INPUT.PADDING.SIZE", 2,
                  "SOLVER.IMS_PER_BATCH", 8]


@pytest.fixture(scope="module")
def run(tiny_world, tmp_path_factory) -> Path:
    """A real RAE run (every module on) written by the UDA trainer: 2 epochs (source-only,
    then k-means pseudo-labels) of 2 iterations. It also holds ``model_untrained.pth``, the
    same config's freshly initialised weights: a second model to put beside the trained one."""
    run_dir = tmp_path_factory.mktemp("rae_run")
    _train(_cfg(tiny_world, run_dir, "RAE.PSEUDO_LABEL.NAME", "kmeans", *SMALL_AND_FAST), iterations=2)
    with torch.random.fork_rng():
        torch.manual_seed(0)  # fixed weights: a fixed rank list, with green and red borders
        untrained = build_model(load_config(str(run_dir / "config.yaml")))
    torch.save({"model": untrained.state_dict()}, run_dir / "model_untrained.pth")
    return run_dir


def _untrained(run: Path):
    """--config-file / --weights of the untrained model."""
    return ["--config-file", str(run / "config.yaml"), "--weights", str(run / "model_untrained.pth")]


@pytest.fixture(scope="module")
def visualize():
    """tools/visualize.py's ``main(argv)``, run in this process (no interpreter start-up)."""
    spec = importlib.util.spec_from_file_location("visualize_tool", REPO_ROOT / "tools" / "visualize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _png(path) -> np.ndarray:
    assert Path(path).stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def _grid_size(layout: GridLayout):
    """(width, height) of a grid picture, spelled out: margins, cells, pads, gaps, header."""
    cell_height, cell_width = layout.cell_size
    cells_across = sum(layout.groups)
    width = (2 * layout.margin + cells_across * cell_width + (cells_across - len(layout.groups)) * layout.pad
             + (len(layout.groups) - 1) * layout.group_gap)
    height = 2 * layout.margin + layout.header + layout.rows * cell_height + (layout.rows - 1) * layout.pad
    return width, height


def _pid_camid(path):
    """Market-1501 file names: ``0292_c4s1_039340_06.jpg`` is person 292, camera 4."""
    person, shot = Path(path).name.split("_")[:2]
    return int(person), int(shot[1])


# ---- ranklist --------------------------------------------------------------------------

def test_top_k_gallery_never_ranks_same_camera_images_of_the_query_identity():
    # gallery: id 1 cam 0 (junk for a cam-0 query of id 1: nearest, must be skipped),
    # id 2 cam 1, id 1 cam 1 (the true match), id 3 cam 0
    distances = np.array([[0.0, 0.1, 0.2, 0.3]])
    indices, correct = top_k_gallery(distances, q_pids=[1], g_pids=[1, 2, 1, 3], q_camids=[0],
                                     g_camids=[0, 1, 1, 0], top_k=3)
    assert indices.tolist() == [[1, 2, 3]]
    assert correct.tolist() == [[False, True, False]]
    # top_k larger than what is left after the junk: only kept images are shown
    indices, _ = top_k_gallery(distances, [1], [1, 2, 1, 3], [0], [0, 1, 1, 0], top_k=10)
    assert indices.tolist() == [[1, 2, 3]]


def test_only_queries_with_a_match_from_another_camera_are_chosen():
    assert queries_with_matches(q_pids=[1, 2, 3], g_pids=[1, 2, 2], q_camids=[0, 0, 0],
                                g_camids=[0, 0, 1]).tolist() == [1]


def test_query_choice_is_seeded():
    assert choose_indices(30, 5, seed=3).tolist() == choose_indices(30, 5, seed=3).tolist()
    assert choose_indices(30, 5, seed=3).tolist() != choose_indices(30, 5, seed=4).tolist()
    assert choose_indices(3, 5, seed=0).tolist() == [0, 1, 2]  # fewer than asked: all


def test_ranklist_borders_are_green_exactly_where_the_ids_match(run, tmp_path):
    sources = [ModelSource(str(run / "config.yaml"), str(run / "model_untrained.pth"), "untrained"),
               ModelSource.resolve(run_dir=str(run))]
    ranking = rank_models(sources, num_queries=6, top_k=8, seed=0)
    image = _png(render_ranklist(ranking, str(tmp_path / "ranks.png")))
    layout = ranklist_layout(6, 8, 2)
    assert image.shape[1::-1] == _grid_size(layout)

    height, width = layout.cell_size
    colors = set()
    for group, indices in enumerate(ranking.indices, start=1):
        for row, query in enumerate(ranking.query_paths):
            query_pid, query_camid = _pid_camid(query)
            for column, index in enumerate(indices[row]):
                gallery_pid, gallery_camid = _pid_camid(ranking.gallery_paths[index])
                assert (gallery_pid, gallery_camid) != (query_pid, query_camid)  # junk never shown
                expected = CORRECT if gallery_pid == query_pid else WRONG
                top, left = layout.cell_origin(row, group, column)
                border = np.concatenate([  # the four sides, BORDER pixels thick
                    image[top:top + BORDER, left:left + width].reshape(-1, 3),
                    image[top + height - BORDER:top + height, left:left + width].reshape(-1, 3),
                    image[top:top + height, left:left + BORDER].reshape(-1, 3),
                    image[top:top + height, left + width - BORDER:left + width].reshape(-1, 3)])
                assert (border == expected).all(), (row, group, column)
                colors.add(expected)
    assert colors == {CORRECT, WRONG}  # both kinds of border were checked
    assert ranking.correct[0].any()  # the seeded untrained model alone has a true match
    # the query column is the chosen queries themselves, unframed
    top, left = layout.cell_origin(0, 0, 0)
    query_cell = image[top:top + height, left:left + width]
    assert not (query_cell[:BORDER] == CORRECT).all() and not (query_cell[:BORDER] == WRONG).all()


def test_ranklist_cli_draws_one_block_per_model(run, visualize, tmp_path, capsys):
    output = tmp_path / "out" / "ranks.png"  # the folder is created
    path = visualize(["ranklist", *_untrained(run), "--name", "untrained", "--num-queries", "3", "--top-k", "4",
                      "--seed", "1", "--output", str(output), "MODEL.DEVICE", "cpu"])
    assert path == str(output) and capsys.readouterr().out.strip().endswith(str(output))
    assert _png(output).shape[1::-1] == _grid_size(ranklist_layout(3, 4, 1)) == (372, 432)


def test_cli_rejects_weights_without_a_model_and_missing_files(run, visualize, tmp_path):
    with pytest.raises(SystemExit):
        visualize(["ranklist", "--weights", "model.pth", "--output", str(tmp_path / "x.png")])
    with pytest.raises(SystemExit):  # three models for a side-by-side of at most two
        visualize(["tsne", *["--run-dir", str(run)] * 3, "--output", str(tmp_path / "x.png")])
    empty = tmp_path / "empty_run"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="config.yaml"):
        ModelSource.resolve(run_dir=str(empty))


# ---- reconstruct -----------------------------------------------------------------------

def test_reconstruct_draws_inputs_and_reconstructions_of_both_domains(run, visualize, tmp_path):
    output = tmp_path / "fig5.png"
    visualize(["reconstruct", "--run-dir", str(run), "--num-images", "3", "--output", str(output)])
    image = _png(output)
    layout = reconstruct_layout(3)
    assert image.shape[1::-1] == _grid_size(layout)
    height, width = layout.cell_size
    for row in range(3):
        for group in range(2):  # source, target: input and Dec(Enc(I)) are different pictures
            cells = [image[top:top + height, left:left + width].astype(int)
                     for top, left in (layout.cell_origin(row, group, column) for column in range(2))]
            assert all(cell.std() > 0 for cell in cells)
            assert np.abs(cells[0] - cells[1]).mean() > 1


def test_reconstruct_without_pixel_transfer_names_the_key(run, visualize, tmp_path):
    without_decoder = ["RAE.PIXEL_TRANSFER.ENABLED", "False", "RAE.FUSION.ENABLED", "False"]
    with pytest.raises(VisualizationError, match="RAE.PIXEL_TRANSFER.ENABLED False"):
        visualize(["reconstruct", *_untrained(run), "--output", str(tmp_path / "x.png"), *without_decoder])
    assert not (tmp_path / "x.png").exists()


# ---- tsne ------------------------------------------------------------------------------

def test_tsne_puts_two_models_side_by_side(run, visualize, tmp_path):
    output = tmp_path / "tsne.png"
    visualize(["tsne", *_untrained(run), "--run-dir", str(run), "--num-images", "15", "--output", str(output)])
    assert _png(output).shape[1::-1] == (2 * PANEL_SIZE[0], PANEL_SIZE[1])


def test_tsne_of_one_model_coloured_by_identity(run, tmp_path):
    output = draw_tsne([ModelSource.resolve(run_dir=str(run))], str(tmp_path / "tsne.png"), num_images=15,
                       color_by="identity", kind="encoder")
    image = _png(output)
    assert image.shape[1::-1] == PANEL_SIZE
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # many identity colours, not two


# ---- curves ----------------------------------------------------------------------------

def test_curves_of_a_run(run, visualize, tmp_path):
    series = read_metrics(str(run / "metrics.json"))
    assert "total_loss" in series and "loss_reconst_target" in series
    assert all(0 <= value <= 1 for key in ("feat_dis_accuracy", "pix_dis_accuracy") for _, value in series[key])
    # SOURCE_PRETRAIN.EPOCHS 1 of MAX_EPOCH 2: one pseudo-labelling, tagged with epoch 1's
    # first iteration (1 x 2 iterations), which the epoch rule of the curves relies on
    assert [iteration for iteration, _ in series["pseudo_clusters"]] == [2]
    assert pseudo_label_epochs(series, first_epoch=1) == [1]
    output = tmp_path / "curves.png"
    visualize(["curves", "--run-dir", str(run), "--output", str(output)])
    assert _png(output).shape[1::-1] == curves_size() == (2000, 400)


def test_curves_draw_the_label_free_figures_of_a_run_without_identities(visualize, tmp_path):
    # a run on your own cameras: three pseudo-labellings from epoch 3, no hidden-id figures
    records = [{"iteration": 30 + 10 * n, "pseudo_clusters": 40 + n, "pseudo_outlier_share": 0.4 - 0.1 * n,
                "pseudo_multi_camera_share": 0.5, **({"pseudo_ari_to_previous": 0.7 + 0.1 * n} if n else {})}
               for n in range(3)]
    records.insert(1, {"iteration": 35, "total_loss": 2.0})
    (tmp_path / "metrics.json").write_text("".join(json.dumps(record) + "\n" for record in records))
    series = read_metrics(str(tmp_path / "metrics.json"))
    points = quality_points(series, pseudo_label_epochs(series, first_epoch=3))
    assert set(points) == {"pseudo_outlier_share", "pseudo_multi_camera_share", "pseudo_ari_to_previous"}
    assert points["pseudo_outlier_share"] == [(3, 0.4), (4, pytest.approx(0.3)), (5, pytest.approx(0.2))]
    assert points["pseudo_ari_to_previous"] == [(4, pytest.approx(0.8)), (5, pytest.approx(0.9))]  # from the 2nd on
    visualize(["curves", "--run-dir", str(tmp_path), "--output", str(tmp_path / "curves.png")])
    assert _png(tmp_path / "curves.png").shape[1::-1] == curves_size()


def test_metrics_reader_keeps_the_last_of_repeated_iterations_and_names_bad_lines(tmp_path):
    metrics = tmp_path / "metrics.json"
    lines = [{"iteration": 5, "total_loss": 3.0}, {"iteration": 2, "total_loss": 4.0},
             {"iteration": 5, "total_loss": 2.5}]  # a resumed run writes iteration 5 again
    metrics.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert read_metrics(str(metrics))["total_loss"] == [(2, 4.0), (5, 2.5)]
    metrics.write_text(json.dumps(lines[0]) + "\n{not json\n")
    with pytest.raises(VisualizationError, match="metrics.json, line 2"):
        read_metrics(str(metrics))


# ---- gradients ---------------------------------------------------------------------------

def test_gradients_of_every_term_on_the_same_batches_for_each_checkpoint(run, visualize, tmp_path, capsys):
    output = tmp_path / "gradients.png"
    visualize(["gradients", "--run-dir", str(run), "--name", "a", "--run-dir", str(run), "--name", "b",
               "--num-batches", "1", "--output", str(output)])
    assert _png(output).shape[1::-1] == gradients.PICTURE_SIZE
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| loss_")]
    pull = {row[0].strip(): float(row[1]) for row in rows}
    assert {"loss_cls_source", "loss_reconst_target", "loss_feat_gan", "loss_fusion_cls_target"} <= set(pull)
    # the CPU config keeps Dec's own terms off Enc (RAE.PIXEL_TRANSFER.UPDATE_ENCODER False)
    pixel_terms = {term for term in pull if term.startswith(("loss_reconst", "loss_pix_gan"))}
    assert pixel_terms and all(pull[term] == 0 for term in pixel_terms), pull
    assert all(pull[term] > 0 for term in set(pull) - pixel_terms), pull  # every other term reaches Enc
    assert all(a == b for _, a, b in rows), rows  # the same checkpoint on the same seeded batches


def test_gradients_need_a_checkpoint_with_pseudo_labels(run, visualize, tmp_path):
    with pytest.raises(VisualizationError, match="model_untrained.pth holds no pseudo-labels"):
        visualize(["gradients", *_untrained(run), "--output", str(tmp_path / "g.png")])


def test_a_run_folder_whose_config_and_weights_disagree_is_refused(run, visualize, tmp_path):
    # the run's weights beside a config of another depth: once drawn as a half-random model
    disagreeing = tmp_path / "disagreeing_run"
    disagreeing.mkdir()
    config = (run / "config.yaml").read_text()
    assert "DEPTH: 18x" in config
    (disagreeing / "config.yaml").write_text(config.replace("DEPTH: 18x", "DEPTH: 34x"))
    (disagreeing / "model_final.pth").symlink_to(run / "model_final.pth")
    with pytest.raises(CheckpointLoadError, match=re.escape(
            f"checkpoint '{disagreeing / 'model_final.pth'}' does not fit the model built from "
            f"the config: missing: backbone.layer1.2.")):
        visualize(["ranklist", "--run-dir", str(disagreeing), "--output", str(tmp_path / "x.png"),
                   "MODEL.DEVICE", "cpu"])
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("flag, value", [("--num-queries", "0"), ("--top-k", "-1"),
                                         ("--output", "notes.txt/x.png")])
def test_cli_refuses_counts_below_one_and_outputs_it_cannot_write(visualize, tmp_path, capsys, flag, value):
    (tmp_path / "notes.txt").write_text("notes\n")
    arguments = {"--output": str(tmp_path / "x.png"), flag: str(tmp_path / value) if flag == "--output" else value}
    with pytest.raises(SystemExit) as exit_:
        visualize(["ranklist", "--run-dir", str(tmp_path), *[item for pair in arguments.items() for item in pair]])
    assert exit_.value.code == 2
    assert f"argument {flag}: " in capsys.readouterr().err.strip().splitlines()[-1]


# ---- runs written before a key was removed -------------------------------------------------

@pytest.mark.parametrize("retired,value", [("RAE.FUSION.RE_ENCODING_UPDATES_BN_STATS", "false"),
                                           ("RAE.FUSION.TARGET_CLASSIFIER_FROM_CENTERS", "true"),
                                           ("RAE.PSEUDO_LABEL.FEATURE", "after")])
def test_a_run_config_with_a_retired_key_still_loads_and_a_user_config_with_it_is_refused(
        run, tmp_path, caplog, retired, value):
    from fastreid_rae.engine.config_loading import RETIRED_KEYS, ConfigError
    from fastreid_rae.visualization.loading import ModelSource, load_config

    assert retired in RETIRED_KEYS
    _, section, key = retired.split(".")
    old_run = tmp_path / "old_run"
    old_run.mkdir()
    text = (run / "config.yaml").read_text()
    assert f"\n  {section}:\n" in text
    (old_run / "config.yaml").write_text(text.replace(f"\n  {section}:\n", f"\n  {section}:\n    {key}: {value}\n", 1))
    (old_run / "model_final.pth").symlink_to(run / "model_final.pth")

    cfg = ModelSource.resolve(run_dir=str(old_run)).config()
    assert cfg == load_config(str(run / "config.yaml"))  # the same run, less the retired key
    assert retired in caplog.text and "no longer has" in caplog.text
    with pytest.raises(ConfigError, match=f"unknown config key '{retired}'"):
        load_config(str(old_run / "config.yaml"))  # not marked as a run's: the user wrote it
