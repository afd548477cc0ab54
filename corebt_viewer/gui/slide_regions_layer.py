"""Keep a napari Shapes layer and a :class:`SlideRegionsSession` in step, both ways.

The layer sits on the slide canvas with the slide's scale, translated by half a pixel, so its
data coordinates are level-0 pixels as QuPath counts them (a pixel's top-left corner at its
integer (x, y)); napari's (row, column) is (y, x). Each region shows as one shape per ring:
a filled exterior per polygon and an unfilled outline per hole.

- The user draws, drags, reshapes or deletes shapes (napari's Shapes modes): the layer's
  ``data`` events become editor calls (``add``, ``move``, ``edit``, ``delete``), each one undo
  step; the layer is not rebuilt for a drawn or moved region.
- The editor changes otherwise (undo, redo, a class change, an import, a load): the shapes
  of the regions that changed are replaced; when most did, the layer is rebuilt. Given a
  step runner, a large rebuild adds a chunk of shapes per event-loop turn
  (:func:`rebuild_chunks`; 500 regions at once froze the window for 150-250 ms); the layer
  takes no edits meanwhile.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial

import numpy as np

from corebt_viewer.core.annotations import Region, close_ring
from corebt_viewer.gui._napari_compat import reshape_shapes, stop_shapes_thumbnail
from corebt_viewer.gui.region_geometry import common_shift, ellipse_polygon, same_rings
from corebt_viewer.services.slide_regions_session import brush_stroke_region

#: Fill opacity of a region's exterior.
FACE_ALPHA = 0.25
#: Shape types that are not regions (napari's line, path and polyline modes).
LINE_TYPES = ("line", "path", "polyline")
#: Shapes a rebuild adds per event-loop turn when it has a step runner (about 20 ms); more
#: once the layer holds many (napari's every add costs in proportion to all its shapes)
REBUILD_CHUNK = 64


def rebuild_chunks(n: int, first: int = REBUILD_CHUNK) -> list[tuple[int, int]]:
    """The (start, stop) of each turn's shapes when a rebuild adds `n`: `first` at a time,
    then a sixth of those already added (10,000 regions: 28 turns, not 157).

    >>> rebuild_chunks(150)
    [(0, 64), (64, 128), (128, 150)]
    >>> len(rebuild_chunks(500)), len(rebuild_chunks(10_000))
    (8, 28)
    """
    bounds, start = [], 0
    while start < n:
        stop = min(n, start + max(first, start // 6))
        bounds.append((start, stop))
        start = stop
    return bounds


class RegionsLayerSync:
    """Two-way binding of `layer` (a napari Shapes layer) and `session`.

    Parameters
    ----------
    layer : napari.layers.Shapes
    session : SlideRegionsSession
    notify : callable, optional
        ``notify(text)`` for what the user should know (an edit refused...).
    runner : StepRunner, optional
        Runs a large rebuild a chunk of shapes per turn (without one, at once).
    """

    def __init__(self, layer, session, notify=None, runner=None):
        self.layer = layer
        self.session = session
        self.notify = notify or (lambda _text: None)
        self.runner = runner
        self._rebuilding: tuple[str, bool] | None = None  # (the mode, editable) to restore
        #: per shape of the layer: (region id, polygon index, ring index)
        self.owners: list[tuple[str, int, int]] = []
        self._syncing = False
        self._from_layer = False
        self.rebuilds = 0  # how many full rebuilds (tests, benchmarks)
        self._shown: dict = {}  # region id -> the Region its shapes show
        #: level-0 px: when set, a drawn outline is a brush stroke of this half-width
        self.brush_radius: float | None = None
        stop_shapes_thumbnail(layer)  # never shown; 5-10 ms an edit with 500 regions
        session.on_change(self._on_editor_change)
        layer.events.data.connect(self._on_layer_data)
        layer.mouse_drag_callbacks.append(self._brush_drag)

    # ------------------------------------------------------------------ the brush
    def set_brush(self, radius: float | None) -> None:
        """Paint strokes of half-width `radius` level-0 px (``None``: the brush is off).

        With the brush on, the layer is in pan/zoom mode with mouse panning off, and a drag
        records its path; on release the path, widened, becomes a region (one undo step).
        """
        self.brush_radius = radius
        if radius is not None:
            self.layer.mouse_pan = False
        elif self.layer.mode == "pan_zoom":  # other modes: napari's mode switch set it
            self.layer.mouse_pan = True

    def _brush_drag(self, layer, event):
        if not self.brush_radius or layer.mode != "pan_zoom" or self.busy:
            return
        points = [layer.world_to_data(event.position)[-2:]]
        yield
        while event.type == "mouse_move":
            points.append(layer.world_to_data(event.position)[-2:])
            yield
        path = np.asarray(points, dtype=np.float64)[:, ::-1]  # (x, y)
        try:
            region = brush_stroke_region(
                path, self.brush_radius, class_name=self.session.current_class
            )
            self.session.editor.add(region)
        except (ValueError, PermissionError) as exc:
            self.notify(f"Brush stroke not kept: {exc}")

    # ------------------------------------------------------------------ editor -> layer
    def _on_editor_change(self, _label: str) -> None:
        if not self._from_layer:
            self.update()

    def _shapes_of(self, regions) -> tuple[list, np.ndarray, np.ndarray, list]:
        shapes, faces, edges, owners = [], [], [], []
        for region in regions:
            r, g, b = (c / 255 for c in self.session.class_color(region.class_name))
            for pi, polygon in enumerate(region.polygons):
                for ri, ring in enumerate(polygon):
                    shapes.append(np.ascontiguousarray(ring[:-1, ::-1]))
                    faces.append((r, g, b, FACE_ALPHA if ri == 0 else 0.0))
                    edges.append((r, g, b, 1.0))
                    owners.append((region.id, pi, ri))
        return shapes, np.asarray(faces).reshape(-1, 4), np.asarray(edges).reshape(-1, 4), owners

    def update(self, force=()) -> None:
        """Show the session's regions, touching only the shapes of regions that changed
        (those in `force` too); a full rebuild when most of them did."""
        if self.busy:  # a rebuild is under way: it starts again from the regions
            self.rebuild()
            return
        regions = self.session.regions
        new = {r.id: r for r in regions}
        shown, force = self._shown, set(force)
        gone = {
            rid
            for rid, old in shown.items()
            if rid in force or rid not in new or new[rid].polygons is not old.polygons
        }
        # moved or reshaped with the same rings (an undone move...): edited in place
        reshaped = {rid for rid in gone - force if rid in new and same_rings(shown[rid], new[rid])}
        gone -= reshaped
        added = [r for r in regions if r.id not in shown or r.id in gone]
        recolour = {
            r.id
            for r in regions
            if r.id in shown and r.id not in gone and r.class_name != shown[r.id].class_name
        }
        if len(gone) + len(added) > max(64, len(regions) // 2):
            self.rebuild()
            return
        layer = self.layer
        self._syncing = True
        try:
            if reshaped:
                reshape_shapes(
                    layer,
                    {
                        i: np.ascontiguousarray(new[rid].polygons[pi][ri][:-1, ::-1])
                        for i, (rid, pi, ri) in enumerate(self.owners)
                        if rid in reshaped
                    },
                )
            if gone:
                drop = {i for i, owner in enumerate(self.owners) if owner[0] in gone}
                layer.selected_data = drop
                layer.remove_selected()
                self.owners = [o for i, o in enumerate(self.owners) if i not in drop]
            if added:
                shapes, faces, edges, owners = self._shapes_of(added)
                layer.selected_data = set()
                layer.add(shapes, shape_type="polygon", face_color=faces, edge_color=edges)
                self.owners.extend(owners)
            if recolour:
                self._recolour(recolour, new)
        finally:
            self._syncing = False
        self._shown = new

    def _recolour(self, ids: set[str], regions: dict) -> None:
        """Give the shapes of regions `ids` their class's colours.

        Through napari's public per-selection colours: only these shapes are touched
        (setting the layer's whole ``face_color`` updates every shape, about 30 ms with
        500 regions). The selection comes back as it was; the selections made on the way
        are not drawn (their highlight events are held).
        """
        layer = self.layer
        groups: dict[tuple, list[int]] = {}
        for i, (rid, _pi, ri) in enumerate(self.owners):
            if rid in ids:
                r, g, b = (c / 255 for c in self.session.class_color(regions[rid].class_name))
                face = (r, g, b, FACE_ALPHA if ri == 0 else 0.0)
                groups.setdefault((face, (r, g, b, 1.0)), []).append(i)
        selected = set(layer.selected_data)
        events = layer.events
        with (
            events.current_face_color.blocker(),
            events.current_edge_color.blocker(),
            events.highlight.blocker(),
        ):
            for (face, edge), indices in groups.items():
                layer.selected_data = set(indices)
                layer.current_face_color = face
                layer.current_edge_color = edge
            layer.selected_data = selected
        self.set_drawing_class(self.session.current_class)

    def set_mode(self, mode: str) -> None:
        """Put the layer in napari's `mode`; during a rebuild, once it is done."""
        if self._rebuilding is not None:
            self._rebuilding = (mode, self._rebuilding[1])
        else:
            self.layer.mode = mode

    @property
    def busy(self) -> bool:
        """Whether a rebuild is still adding shapes (the layer takes no edits meanwhile)."""
        return self._rebuilding is not None

    def rebuild(self) -> None:
        """Show the session's regions, replacing every shape (a chunk per turn when large
        and a step runner was given)."""
        layer = self.layer
        shapes, faces, edges, owners = self._shapes_of(self.session.regions)
        if self.runner is not None:
            self.runner.cancel()
        self._syncing = True
        try:
            layer.selected_data = set()
            layer.data = []
        finally:
            self._syncing = False
        self.owners = []
        self._shown = {r.id: r for r in self.session.regions}
        self.rebuilds += 1
        self.set_drawing_class(self.session.current_class)
        if self.runner is None or len(shapes) <= REBUILD_CHUNK:
            self._finish_rebuild()
            self._add_shapes(shapes, faces, edges, owners)
            return
        if self._rebuilding is None:  # no edits until every shape is there
            self._rebuilding = (layer.mode, layer.editable)
            layer.editable = False
        steps = [
            partial(self._add_shapes, *(part[a:b] for part in (shapes, faces, edges, owners)))
            for a, b in rebuild_chunks(len(shapes))
        ]
        self.runner.run([*steps, self._finish_rebuild])

    def _add_shapes(self, shapes, faces, edges, owners) -> None:
        if not shapes:
            return
        self._syncing = True
        try:
            self.layer.add(shapes, shape_type="polygon", face_color=faces, edge_color=edges)
        finally:
            self._syncing = False
        self.owners.extend(owners)

    def _finish_rebuild(self) -> None:
        """The rebuild's last step: the layer takes edits again, in the mode it was in."""
        if self._rebuilding is None:
            return
        mode, editable = self._rebuilding
        self._rebuilding = None
        layer = self.layer
        layer.editable = editable
        if editable and layer.mode != mode:
            layer.mode = mode
        self.set_brush(self.brush_radius)  # napari's mode switch turned mouse panning on

    def set_drawing_class(self, name: str) -> None:
        """Colour the next drawn shape as class `name` (selected shapes keep theirs).

        napari's ``block_update_properties`` sets the drawing colour without recolouring
        the selected shapes (and without redrawing the layer).
        """
        r, g, b = (c / 255 for c in self.session.class_color(name))
        layer = self.layer
        with layer.block_update_properties(), layer.events.current_face_color.blocker():
            layer.current_face_color = (r, g, b, FACE_ALPHA)
            layer.current_edge_color = (r, g, b, 1.0)

    # ------------------------------------------------------------------ layer -> editor
    def selected_ids(self) -> list[str]:
        """Ids of the regions with a shape selected on the layer."""
        ids = [self.owners[i][0] for i in sorted(self.layer.selected_data) if i < len(self.owners)]
        return list(dict.fromkeys(ids))

    def _on_layer_data(self, event) -> None:
        if self._syncing:
            return
        action = str(getattr(event, "action", ""))
        if self.busy and action in ("added", "removed", "changed"):
            self.notify("The regions are still being drawn: make that edit again")
            self.rebuild()
            return
        try:
            if action == "added":
                self._added()
            elif action == "removed":
                self._removed(tuple(getattr(event, "data_indices", ()) or ()))
            elif action == "changed":
                self._changed(tuple(getattr(event, "data_indices", ()) or ()))
        except (PermissionError, ValueError, KeyError) as exc:
            self.notify(f"Region edit refused: {exc}")
            self.rebuild()

    @contextmanager
    def _quiet(self):
        """Editor calls inside do not touch the layer (it shows the change already)."""
        self._from_layer = True
        try:
            yield
        finally:
            self._from_layer = False
            self._shown = {r.id: r for r in self.session.regions}

    def _added(self) -> None:
        layer, known = self.layer, len(self.owners)
        new = range(known, layer.nshapes)
        if not len(new):
            return
        kinds = [layer.shape_type[i] for i in new]
        if any(kind in LINE_TYPES for kind in kinds):
            self.notify("Lines are not regions: draw a polygon, rectangle or freehand outline")
            self.rebuild()
            return
        regions = []
        for i, kind in zip(new, kinds, strict=True):
            points = np.asarray(layer.data[i], dtype=np.float64)[:, -2:][:, ::-1]
            if kind == "ellipse":
                points = ellipse_polygon(points)
            if len(np.unique(points, axis=0)) < 3:
                self.notify("A region needs at least three distinct corners")
                self.rebuild()
                return
            regions.append(Region.polygon([points], class_name=self.session.current_class))
        editor = self.session.editor
        with self._quiet(), editor.group("add"):
            for region in regions:
                editor.add(region)
        self.owners.extend((region.id, 0, 0) for region in regions)
        ellipses = {r.id for r, kind in zip(regions, kinds, strict=True) if kind == "ellipse"}
        if ellipses:
            self.update(force=ellipses)  # show the polygon that was stored
        # napari draws in its current colour, which follows the last selected shape's
        # class: a shape drawn then shows the class it was given
        faces = np.asarray(layer.face_color)
        wrong = {
            region.id
            for i, region in zip(new, regions, strict=True)
            if region.id not in ellipses
            and not np.allclose(
                faces[i, :3], np.array(self.session.class_color(region.class_name)) / 255, atol=0.01
            )
        }
        if wrong:
            self._syncing = True
            try:
                self._recolour(wrong, {r.id: r for r in regions})
            finally:
                self._syncing = False

    def _removed(self, indices: tuple[int, ...]) -> None:
        gone = sorted({i for i in indices if 0 <= i < len(self.owners)})
        if not gone:
            return
        ids = list(dict.fromkeys(self.owners[i][0] for i in gone))
        partial = any(
            owner[0] in ids and i not in gone for i, owner in enumerate(self.owners)
        )  # one part of a region with several shapes: the whole region goes
        keep = set(gone)
        self.owners = [owner for i, owner in enumerate(self.owners) if i not in keep]
        with self._quiet():
            self.session.editor.delete(ids)
        if partial:  # the region's other shapes go too
            self._syncing = True
            try:
                rest = {i for i, owner in enumerate(self.owners) if owner[0] in set(ids)}
                self.layer.selected_data = rest
                self.layer.remove_selected()
                self.owners = [o for i, o in enumerate(self.owners) if i not in rest]
            finally:
                self._syncing = False

    def _changed(self, indices: tuple[int, ...]) -> None:
        touched = list(dict.fromkeys(self.owners[i][0] for i in indices if i < len(self.owners)))
        if not touched:
            return
        editor = self.session.editor
        data = self.layer.data
        moves, reshapes, refused = [], [], []
        whole_moves = False
        for region_id in touched:
            region = editor.annotations.region(region_id)
            shape_ix = [i for i, owner in enumerate(self.owners) if owner[0] == region_id]
            new = [np.asarray(data[i], dtype=np.float64)[:, -2:][:, ::-1] for i in shape_ix]
            old = [region.polygons[self.owners[i][1]][self.owners[i][2]][:-1] for i in shape_ix]
            moved = [k for k, i in enumerate(shape_ix) if i in indices]
            shift = common_shift(old, new)
            part_shift = common_shift([old[k] for k in moved], [new[k] for k in moved])
            still = [k for k in range(len(shape_ix)) if k not in moved]
            if shift is not None:
                if np.any(shift):
                    moves.append((region_id, shift))
            elif (
                part_shift is not None
                and common_shift([old[k] for k in still], [new[k] for k in still]) is not None
            ):  # one part dragged: the whole region moves
                moves.append((region_id, part_shift))
                whole_moves = True
            elif len(shape_ix) == 1:
                reshapes.append((region_id, new[0]))
            else:
                refused.append(region_id)
        label = "move" if moves and not reshapes else "edit"
        with self._quiet(), editor.group(label):
            for region_id, (dx, dy) in moves:
                editor.move([region_id], float(dx), float(dy))
            for region_id, points in reshapes:
                editor.edit(region_id, polygons=((close_ring(points),),))
        if whole_moves:  # the region's other parts follow
            self.update(force={rid for rid, _shift in moves})
        if refused:
            self.notify(
                "A region with holes or several parts can be moved, not reshaped: "
                "edit it in QuPath or draw it again"
            )
            self.update(force=set(refused))
