"""docs/deploy.md's worked example, run as a user runs it: the bash block after the
``<!-- worked-example -->`` marker, in a fresh folder, on the tiny world instead of the small
one and with epochs of a few steps. Each of those changes is a named substitution that must
find its text, so an edit of the docs that the test would silently stop covering fails here.
"""
import json
import re
import subprocess
import sys

from .conftest import REPO_ROOT

MARKER = "<!-- worked-example -->"
# docs text -> what this test runs instead, each expected in the block
SUBSTITUTIONS = (
    ("python tools/", f"'{sys.executable}' {REPO_ROOT}/tools/"),
    ("configs/", f"{REPO_ROOT}/configs/"),
    ("--preset small", "--preset tiny"),
    # 1 source epoch, 1 epoch of Dec alone, 1 adapting epoch; tiny-world batches and clusters
    ("OUTPUT_DIR logs/my_cameras\n",
     "OUTPUT_DIR logs/my_cameras SOLVER.MAX_EPOCH 3 SOLVER.STEPS '(2,)' SOLVER.IMS_PER_BATCH 16 "
     "SOLVER.CHECKPOINT_PERIOD 3 TEST.EVAL_PERIOD 3 RAE.SOURCE_PRETRAIN.EPOCHS 2 "
     "RAE.PSEUDO_LABEL.DBSCAN.EPS 0.9 RAE.PSEUDO_LABEL.DBSCAN.MIN_SAMPLES 2 DATALOADER.NUM_WORKERS 0\n"),
)


def worked_example() -> str:
    text = (REPO_ROOT / "docs" / "deploy.md").read_text()
    assert text.count(MARKER) == 1, f"docs/deploy.md: expected one {MARKER}"
    block = re.match(r"\s*```bash\n(.*?)```", text.split(MARKER)[1], re.DOTALL)
    assert block, f"docs/deploy.md: expected a ```bash block right after {MARKER}"
    script = block.group(1)
    for documented, tested in SUBSTITUTIONS:
        assert documented in script, f"the worked example no longer has {documented!r}"
        script = script.replace(documented, tested)
    return script


def test_worked_example_runs_as_documented(tmp_path):
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", worked_example()], cwd=tmp_path,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout

    # 1: the copy, camera in the name, no identity
    crops = sorted((tmp_path / "world" / "my_cameras").iterdir())
    assert crops and all(re.fullmatch(r"\d{6}_c\d+\.jpg", crop.name) for crop in crops)
    # 2-3: the run adapted on the folder, logging label-free figures, never the hidden ids
    run = tmp_path / "logs" / "my_cameras"
    # grep's lines, as log.txt writes them (the training's own stdout has another format)
    watched = [line for line in out.splitlines() if "pseudo-identities" in line and " INFO: " in line]
    assert len(watched) == 1 and f"/{len(crops)} outliers" in watched[0], watched
    assert "hidden ids" not in watched[0]
    records = [json.loads(line) for line in (run / "metrics.json").read_text().splitlines()]
    assert any("pseudo_multi_camera_share" in record for record in records)
    assert not any("pseudo_ari" in record for record in records)
    # 4: ten hits for the query, the query itself first, and the picture
    hits = re.findall(r"^\s*(\d+)\s+(-?[\d.]+)\s+(\S+)$", out, re.MULTILINE)
    assert [int(rank) for rank, _, _ in hits] == list(range(1, 11)), out[-2000:]
    assert hits[0][2].endswith(crops[0].name) and float(hits[0][1]) > 0.999
    assert (tmp_path / "ranks.png").stat().st_size > 0
    assert (tmp_path / "my_cameras.index" / "manifest.json").is_file()
    # 5: the export and its description
    description = json.loads((tmp_path / "deploy" / "my_cameras.onnx.json").read_text())
    assert (tmp_path / "deploy" / "my_cameras.onnx").stat().st_size > 0
    assert description["model"]["feature"] == "fusion"
