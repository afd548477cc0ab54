"""``corebt import-features``: TRIDENT or CLAM feature files as an embedding profile."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import-features",
        help="import TRIDENT or CLAM feature files as an embedding profile of a cohort",
        description="Match the feature files in FOLDER (TRIDENT's features_<encoder>/ and "
        "slide_features_<encoder>/, or CLAM's h5_files/) to the manifest's slides by file "
        "stem, copy them into the cohort's embedding cache and record them as profile NAME, "
        "which train, evaluate, predict and the viewer then use. Files matching no slide and "
        "slides without a file are listed (exit status 1). MRI and reports of the profile use "
        "the built-in encoders.",
    )
    parser.add_argument("cohort", help="cohort folder or manifest.csv")
    parser.add_argument("folder", help="TRIDENT job folder / features_<encoder> folder, or CLAM's")
    parser.add_argument("--profile", required=True, metavar="NAME", help="profile to record")
    parser.add_argument(
        "--encoder",
        help="tile encoder: picks TRIDENT's features_<encoder>; names CLAM's (required there)",
    )
    parser.add_argument(
        "--slide-encoder",
        metavar="NAME",
        help="picks TRIDENT's slide_features_<NAME> (default: the only one); 'none' skips them",
    )
    parser.add_argument(
        "--tile-size-level0",
        type=int,
        metavar="PX",
        help="level-0 tile side of CLAM files (default: CLAM's patches/ files, else the "
        "coordinate step)",
    )
    parser.add_argument(
        "--report-encoder", help="minilm or hashing-tfidf (default: minilm when installed)"
    )
    parser.add_argument("--cache-dir", help="cache folder (default <cohort>/.corebt/embeddings)")
    parser.set_defaults(func=run_import)


def run_import(args) -> int:
    from corebt_viewer.cli.cmd_embed import TextProgress
    from corebt_viewer.services.import_features import import_features

    summary = import_features(
        cohort=args.cohort,
        folder=args.folder,
        profile=args.profile,
        encoder=args.encoder,
        slide_encoder=args.slide_encoder,
        tile_size_level0=args.tile_size_level0,
        report_encoder=args.report_encoder,
        cache_dir=args.cache_dir,
        progress=TextProgress(),
    )
    print("\n".join(summary.lines()))
    return 0 if summary.ok else 1
