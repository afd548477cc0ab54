"""``corebt import-features`` end to end on TRIDENT-layout files, then ``embed`` on the profile."""

import numpy as np

from corebt_viewer.cli.main import main
from tests.embed.feature_files import TRIDENT_MAG_FOLDER, tissue_coords, write_trident_tiles


def test_import_lists_strays_then_the_profile_embeds_from_cache(tmp_path, capsys):
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "cohort", n_cases=2, slide_shape=(256, 256))
    rng = np.random.default_rng(0)
    folder = tmp_path / "job" / TRIDENT_MAG_FOLDER / "features_gigapath"
    for stem in ("P001_s0", "P002_s0", "P009_s0"):
        features = rng.normal(size=(7, 1536)).astype(np.float32)
        write_trident_tiles(folder, stem, features, tissue_coords(7, 512, rng))
    argv = ["import-features", str(manifest), str(tmp_path / "job"), "--profile", "gp"]
    argv += ["--report-encoder", "hashing-tfidf"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "files matching no slide of the manifest: 1" in out and "P009_s0" in out
    assert "imported:trident" in out and "gigapath (1536-d" in out and "2 slides" in out
    (folder / "P009_s0.h5").unlink()
    features = rng.normal(size=(7, 1536)).astype(np.float32)
    write_trident_tiles(folder, "P002_s0", features, tissue_coords(7, 512, rng))
    assert main(argv) == 2  # other files under the same profile name
    assert "import them under a new --profile name" in capsys.readouterr().err
    assert main([*argv[:4], "gp2", *argv[5:]]) == 0
    capsys.readouterr()
    status = main(
        [
            "embed",
            str(manifest),
            "--profile",
            "gp2",
            "--modalities",
            "wsi,report",
            "--device",
            "cpu",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "slides: 0 embedded, 2 from cache" in out and "report: 2 embedded" in out


def test_import_without_a_known_layout_is_exit_2(tmp_path, capsys):
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "cohort", n_cases=1, slide_shape=(256, 256))
    (tmp_path / "nothing").mkdir()
    assert (
        main(["import-features", str(manifest), str(tmp_path / "nothing"), "--profile", "x"]) == 2
    )
    assert "no TRIDENT features_<encoder>/ folder and no CLAM h5_files/" in capsys.readouterr().err
