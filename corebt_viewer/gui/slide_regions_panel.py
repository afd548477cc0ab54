"""The "Slide regions" panel: drawing tools, the class list, the region table with areas.

It only shows a :class:`~corebt_viewer.services.slide_regions_session.SlideRegionsSession`
and turns clicks into calls; :class:`~corebt_viewer.gui.slide_regions.SlideRegions` wires it
to the canvas, the files and the keyboard.
"""

from __future__ import annotations

from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

#: (tool, button text, napari Shapes mode, shortcut action) in the order shown.
TOOLS = (
    ("pan", "Pan", "pan_zoom", "regions_pan"),
    ("select", "Select / move", "select", "regions_select"),
    ("vertices", "Edit corners", "direct", "regions_vertices"),
    ("polygon", "Polygon", "add_polygon", "regions_polygon"),
    ("rectangle", "Rectangle", "add_rectangle", "regions_rectangle"),
    ("freehand", "Freehand", "add_polygon_lasso", "regions_freehand"),
    ("brush", "Brush", "pan_zoom", "regions_brush"),  # the drag paints (mouse pan off)
)
#: Default brush width (µm).
BRUSH_UM = 100.0


def swatch(color: tuple[int, int, int], size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


class RegionTableModel(QAbstractTableModel):
    """Rows of :meth:`SlideRegionsSession.rows`: #, class, area (mm²), parts / holes.

    A reset costs nothing per row: the view asks only for the rows it paints."""

    HEADERS = ("#", "Class", "Area (mm²)", "Parts / holes")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(row.index + 1)
            if column == 1:
                return row.class_name
            if column == 2:
                return "—" if row.area_mm2 is None else f"{row.area_mm2:.4f}"
            return f"{row.parts} / {row.holes}"
        if role == Qt.ItemDataRole.DecorationRole and column == 1 and row.color:
            return QColor(*row.color)
        if role == Qt.ItemDataRole.ToolTipRole and column == 2 and row.area_mm2 is None:
            return "The slide's pixel size is unknown: no area in mm²"
        if role == Qt.ItemDataRole.TextAlignmentRole and column != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class SlideRegionsPanel(QWidget):
    """Tool buttons, class picker, region table, save / import / undo buttons.

    Signals
    -------
    tool_chosen(str)
        A tool name of :data:`TOOLS`.
    class_chosen(str)
    rows_selected(list)
        Region ids selected in the table.
    """

    tool_chosen = Signal(str)
    class_chosen = Signal(str)
    rows_selected = Signal(list)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.where = QVBoxLayout()  # the minimap and magnification go here
        layout.addLayout(self.where)

        tools = QGridLayout()
        self.tool_group = QButtonGroup(self)
        self.tool_group.setExclusive(True)
        self.tool_buttons: dict[str, QToolButton] = {}
        for i, (tool, text, _mode, _action) in enumerate(TOOLS):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.clicked.connect(lambda _=False, t=tool: self.tool_chosen.emit(t))
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
            tools.addWidget(button, i // 3, i % 3)
        self.tool_buttons["pan"].setChecked(True)
        layout.addLayout(tools)
        brush = QHBoxLayout()
        brush.addWidget(QLabel("Brush width:"))
        self.brush_size = QDoubleSpinBox()
        self.brush_size.setRange(1.0, 5000.0)
        self.brush_size.setValue(BRUSH_UM)
        self.brush_size.setSuffix(" µm")
        self.brush_size.setToolTip(
            "Width of a brush stroke (Brush tool, Alt+B: drag on the slide; the stroke "
            "becomes a region)"
        )
        brush.addWidget(self.brush_size, 1)
        layout.addLayout(brush)

        row = QHBoxLayout()
        row.addWidget(QLabel("Class:"))
        self.class_box = QComboBox()
        self.class_box.setToolTip(
            "Class of the next region; with regions selected, their class too (Alt+K: next)"
        )
        self.class_box.activated.connect(
            lambda i: self.class_chosen.emit(self.class_box.itemData(i))
        )
        row.addWidget(self.class_box, 1)
        self.add_class_button = QToolButton()
        self.add_class_button.setText("+")
        self.add_class_button.setToolTip("Add a class to the list")
        row.addWidget(self.add_class_button)
        layout.addLayout(row)

        self.model = RegionTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection)
        layout.addWidget(self.table, 1)

        buttons = QHBoxLayout()
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.delete_button = QPushButton("Delete")
        self.save_button = QPushButton("Save")
        self.import_button = QPushButton("Import…")
        for button in (
            self.undo_button,
            self.redo_button,
            self.delete_button,
            self.save_button,
            self.import_button,
        ):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.status = QLabel("No slide.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #9a9a9a;")
        layout.addWidget(self.status)

    def set_tool(self, tool: str) -> None:
        self.tool_buttons[tool].setChecked(True)

    def set_classes(self, classes, current: str) -> None:
        self.class_box.blockSignals(True)
        self.class_box.clear()
        for cls in classes:
            self.class_box.addItem(swatch(cls.color), cls.name, cls.name)
        self.class_box.setCurrentIndex(max(0, self.class_box.findData(current)))
        self.class_box.blockSignals(False)

    def _on_table_selection(self, *_):
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        self.rows_selected.emit([self.model.rows[r].id for r in rows if r < len(self.model.rows)])
