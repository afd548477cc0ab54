"""The vispy changes the viewer makes: meshes keep their shaders across data changes, and\na changed mesh can be prepared before the frame that draws it."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.gui import _vispy_compat as compat

pytestmark = pytest.mark.gui


def test_vispy_version_is_one_we_checked():
    assert compat.vispy_version() in compat.TESTED, (
        f"vispy {compat.vispy_version()} is new: re-read MeshVisual._build_color_transform "
        "and _update_data, then add it to TESTED"
    )


def _square_mesh(colour):
    from vispy.scene.visuals import Mesh

    vertices = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]], np.uint32)
    return Mesh(vertices=vertices, faces=faces, face_colors=np.tile(colour, (2, 1)))


def _canvas_with_square(colour):
    """(canvas, mesh): an offscreen 40x40 canvas filled by a square mesh of `colour`."""
    from vispy.scene import SceneCanvas

    canvas = SceneCanvas(size=(40, 40), show=False, bgcolor="black")
    view = canvas.central_widget.add_view()
    view.camera = "panzoom"
    view.camera.set_range(x=(-1, 1), y=(-1, 1), margin=0)
    mesh = _square_mesh(colour)
    view.add(mesh)
    return canvas, mesh


def test_a_mesh_keeps_its_colour_function_and_its_colours_still_change(qapp):
    assert compat.keep_mesh_shaders()
    red, blue = np.array([1, 0, 0, 1], np.float32), np.array([0, 0, 1, 1], np.float32)
    canvas, mesh = _canvas_with_square(red)
    first = canvas.render()[20, 20, :3]
    function = mesh.shared_program.vert["color_transform"]
    mesh.set_data(vertices=mesh.mesh_data.get_vertices(), faces=mesh.mesh_data.get_faces(),
                  face_colors=np.tile(blue, (2, 1)))  # fmt: skip
    second = canvas.render()[20, 20, :3]
    # the same function: vispy does not recompile the program
    assert mesh.shared_program.vert["color_transform"] is function
    assert first[0] > 200 and first[2] < 50, first
    assert second[2] > 200 and second[0] < 50, second
    canvas.close()


def test_without_the_change_vispy_makes_a_new_function(qapp):
    """What the change prevents, seen on vispy's own method (the test would notice a vispy
    that stopped doing it)."""
    from vispy.visuals.mesh import MeshVisual

    assert compat.keep_mesh_shaders()
    original = MeshVisual._build_color_transform.vispy_original
    mesh = _square_mesh(np.array([1, 0, 0, 1], np.float32))
    colours = np.ones((6, 4), np.float32)
    assert original(mesh, colours) is not original(mesh, colours)
    assert MeshVisual._build_color_transform(mesh, colours) is MeshVisual._build_color_transform(
        mesh, colours
    )


def test_a_changed_mesh_is_prepared_before_its_frame_and_drawn_as_set(qapp):
    """``prepare_changed_meshes`` does the mesh's per-face expansion when called: the frame
    finds nothing to prepare, and draws the new colours."""
    from vispy.visuals.mesh import MeshVisual

    assert compat.track_changed_meshes()
    red, green = np.array([1, 0, 0, 1], np.float32), np.array([0, 1, 0, 1], np.float32)
    canvas, mesh = _canvas_with_square(red)
    canvas.render()
    compat.prepare_changed_meshes()  # the canvas's own undrawn meshes (borders...)
    mesh.set_data(vertices=mesh.mesh_data.get_vertices(), faces=mesh.mesh_data.get_faces(),
                  face_colors=np.tile(green, (2, 1)))  # fmt: skip
    assert mesh._data_changed and mesh in compat._CHANGED
    assert compat.prepare_changed_meshes() == 1
    assert not mesh._data_changed and compat.prepare_changed_meshes() == 0
    prepared_in_frame = []
    original = MeshVisual._update_data

    def counted(self):
        prepared_in_frame.append(self)
        return original(self)

    MeshVisual._update_data = counted
    try:
        pixel = canvas.render()[20, 20, :3]
    finally:
        MeshVisual._update_data = original
    assert mesh not in prepared_in_frame
    assert pixel[1] > 200 and pixel[0] < 50, pixel
    canvas.close()
