"""``corebt annotations``: import a QuPath GeoJSON export for a slide, or export one."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "annotations",
        help="import or export a slide's region annotations (QuPath GeoJSON)",
        description=(
            "Slide region annotations in QuPath's GeoJSON layout, kept in versions under "
            "<cohort>/.corebt/annotations/<case>/<slide>.vNNN.geojson (never overwritten)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("cohort", metavar="COHORT", help="manifest.csv or cohort folder")
        sub.add_argument("--case", required=True, metavar="ID", help="the case's patient id")
        sub.add_argument(
            "--slide", required=True, metavar="FILE_NAME", help="the slide's file name"
        )

    imp = actions.add_parser(
        "import",
        help="import a QuPath GeoJSON export as the slide's next version",
        description=(
            "Read a GeoJSON export of QuPath (annotations with Polygon or MultiPolygon "
            "geometry, holes kept) and save it as the slide's next annotation version. "
            "Detections, points and lines are not imported: each is listed."
        ),
    )
    common(imp)
    imp.add_argument("source", metavar="QUPATH.geojson", help="the GeoJSON file to import")
    imp.set_defaults(func=run_import)

    exp = actions.add_parser(
        "export",
        help="write the slide's newest annotation version to a GeoJSON file",
        description="Write the newest annotation version of a slide, in QuPath's layout.",
    )
    common(exp)
    exp.add_argument("--out", required=True, metavar="OUT.geojson", help="file to write")
    exp.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    from corebt_viewer.services.annotations import import_annotations

    done = import_annotations(
        cohort=args.cohort, case_id=args.case, slide=args.slide, source=args.source
    )
    for line in done.summary():
        print(line)
    print(f"wrote {done.version.path} ({done.version.label})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from corebt_viewer.services.annotations import export_annotations

    version = export_annotations(
        cohort=args.cohort, case_id=args.case, slide=args.slide, out=args.out
    )
    print(f"wrote {args.out} (from {version.path.name})")
    return 0
