import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from corebt_viewer.cli.main import main
from corebt_viewer.core.modalities import Modality


def test_tiles_on_real_svs_masks_tissue_not_glass(svs_path, tmp_path, capsys):
    from PIL import Image

    from corebt_viewer.embed.tissue import saturation

    assert main(["tiles", str(svs_path), "--out", str(tmp_path)]) == 0
    assert "tiles of 257 level-0 px" in capsys.readouterr().out
    mask = np.asarray(Image.open(tmp_path / "mask.png")) > 0
    with __import__("corebt_viewer.io.slides", fromlist=["open_slide"]).open_slide(
        svs_path
    ) as slide:
        from corebt_viewer.embed.tissue import read_overview

        overview, _ = read_overview(slide)
    sat = saturation(overview)
    tissue_like = sat > 40
    assert (mask & tissue_like).sum() / tissue_like.sum() > 0.9  # covers the stained tissue
    glass = sat < 8
    assert (mask & glass).sum() / glass.sum() < 0.05  # and not the glass
    assert (tmp_path / "grid.png").is_file() and (tmp_path / "coords.h5").is_file()
    rows = (tmp_path / "coords.csv").read_text().splitlines()
    assert rows[0] == "x,y,tissue_fraction" and len(rows) > 10


def test_tiles_reports_unreadable_slide(tmp_path, capsys):
    bad = tmp_path / "bad.svs"
    bad.write_bytes(b"nope")
    assert main(["tiles", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "bad.svs" in capsys.readouterr().err


def _embed_command(manifest, cache):
    return [
        sys.executable,
        "-m",
        "corebt_viewer.cli.main",
        "embed",
        str(manifest),
        "--modalities",
        "wsi,report",
        "--report-encoder",
        "hashing-tfidf",
        "--device",
        "cpu",
        "--batch-size",
        "4",
        "--workers",
        "1",
        "--cache-dir",
        str(cache),
    ]


def test_embed_killed_midway_then_rerun_equals_uninterrupted(tmp_path):
    from corebt_viewer.services.embedding import load_cohort_embeddings
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "cohort", n_cases=3, slide_shape=(1280, 1536))
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    killed_cache = tmp_path / "killed"
    proc = subprocess.Popen(
        _embed_command(manifest, killed_cache),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if list(killed_cache.glob("slides/*/*.h5")):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    done_before = len(list(killed_cache.glob("slides/*/*.h5")))
    assert 1 <= done_before < 3

    rerun = subprocess.run(
        _embed_command(manifest, killed_cache), env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"slides: {3 - done_before} embedded, {done_before} from cache" in rerun.stdout

    clean_cache = tmp_path / "clean"
    clean = subprocess.run(
        _embed_command(manifest, clean_cache), env=env, capture_output=True, text=True, timeout=300
    )
    assert clean.returncode == 0, clean.stderr
    a = load_cohort_embeddings(cohort=manifest, profile=None, cache_dir=killed_cache)
    b = load_cohort_embeddings(cohort=manifest, profile=None, cache_dir=clean_cache)
    assert set(a) == set(b) == {"P001", "P002", "P003"}
    for pid in a:
        for modality in (Modality.WSI, Modality.REPORT):
            np.testing.assert_allclose(
                a[pid].vectors[modality], b[pid].vectors[modality], rtol=1e-6, atol=1e-7
            )
        np.testing.assert_array_equal(
            a[pid].parts[Modality.WSI].coords, b[pid].parts[Modality.WSI].coords
        )
    assert not list(killed_cache.rglob("*.tmp"))


def test_embed_exit_status_says_a_slide_failed(tmp_path, capsys):
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "cohort", n_cases=2, slide_shape=(768, 1024))
    (manifest.parent / "P002" / "P002_s0.svs").write_bytes(b"broken")
    status = main(
        ["embed", str(manifest), "--modalities", "wsi", "--device", "cpu", "--batch-size", "4"]
    )
    out = capsys.readouterr()
    assert status == 1
    assert "slides: 1 embedded" in out.out and "failures: 1" in out.out and "P002_s0.svs" in out.out
    assert "case 2/2" in out.err  # progress on stderr


@pytest.mark.parametrize("argv", [["embed", "x", "--wsi-encoder", "minilm"]])
def test_embed_rejects_encoder_of_wrong_modality(argv, tmp_path, capsys):
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "cohort", n_cases=1, slide_shape=(512, 512))
    argv = [a if a != "x" else str(manifest) for a in argv]
    assert main(argv) == 2
    assert "not a Pathology encoder" in capsys.readouterr().err
