"""Ledgers as Excel workbooks laid out like the book's forms, and the household survey read back.

A sheet is: the ledger's title across the top, a line with the community and the
date, bold bordered headers in the book's order (frozen while scrolling and
repeated on every printed page), then one row per record, printed with gridlines. openpyxl writes in
write-only mode and reads in read-only mode: both stream, so 10,000 households
take seconds and little memory.

Reading returns every error it finds, or households and no errors, never both:
a caller imports all of a file or none of it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from copy import copy
from datetime import date
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet

from services.gateway.ledgers.cells import TEXT_FORMAT, CellValue, SheetError, is_text, to_cell
from services.gateway.ledgers.households import ParsedHousehold, SheetRow, household_rows, parse_households
from services.gateway.ledgers.layouts import HOUSEHOLD_SURVEY, Column, Layout
from shared.problems import field_error

TITLE_ROWS = 2  # the title, then the community and date
HEADER_SEARCH_ROWS = 10
"""How far down a header row is looked for: someone may add a line or two above it."""

_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
_HEAD_ROW_FILL = PatternFill("solid", fgColor="EAF1FB")  # a household's head row stands out
_CENTRED = Alignment(horizontal="center", vertical="center", wrap_text=True)


def write_ledger(layout: Layout, rows: Iterable[Mapping[str, Any]], community_name: str, as_of: date) -> bytes:
    """The ledger as .xlsx. `rows` are households shaped like `RegisterHousehold` for the
    household survey, else one mapping per record by column key; code lists as codes."""
    is_household_survey = layout.name == HOUSEHOLD_SURVEY.name
    records = household_rows(rows) if is_household_survey else ((row, False) for row in rows)
    # Every value is shown before the workbook exists, so a bad one fails without a half-written file.
    table = [
        ([to_cell(column, values.get(column.key)) for column in layout.columns], is_head) for values, is_head in records
    ]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(layout.title)
    first_data_row = TITLE_ROWS + layout.header_rows + 1
    _set_up_page(sheet, layout, first_data_row)
    # A write-only sheet records no size, so openpyxl's reader would first read all of it to
    # find one: stating it saves a quarter of reading the file back.
    size = f"A1:{get_column_letter(len(layout.columns))}{first_data_row + len(table) - 1}"
    sheet.calculate_dimension = lambda: size
    _write_title(sheet, layout, community_name, as_of)
    _write_headers(sheet, layout)
    styled = _DataCells(sheet, layout.columns)
    for shown, is_head in table:
        sheet.append([styled.cell(column, value, is_head) for column, value in zip(layout.columns, shown)])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_households(data: bytes) -> tuple[list[ParsedHousehold], list[SheetError]]:
    """The households of a survey sheet in `HOUSEHOLD_SURVEY`'s layout, or every error in it."""
    rows, errors = read_table(HOUSEHOLD_SURVEY, data)
    return ([], errors) if errors else parse_households(rows)


def read_table(layout: Layout, data: bytes) -> tuple[list[SheetRow], list[SheetError]]:
    """The non-blank rows under the layout's headers, each by column key, as the cells hold them."""
    if not data:
        return [], [_file_error("empty_file")]
    try:
        raw_rows = _raw_rows(data, layout.title)
    except Exception:  # openpyxl meets a file that is not xlsx with any of a dozen exceptions
        return [], [_file_error("not_xlsx")]
    header_index = _header_index(raw_rows, layout)
    if header_index is None:
        return [], [_file_error("no_header", expected=layout.columns[0].header)]
    header = raw_rows[header_index : header_index + layout.header_rows]
    if errors := list(_header_errors(layout, header, first_row=header_index + 1)):
        return [], errors
    rows = list(_records(layout, raw_rows, first_index=header_index + layout.header_rows))
    return (rows, []) if rows else ([], [_file_error("no_rows")])


def _set_up_page(sheet: WriteOnlyWorksheet, layout: Layout, first_data_row: int) -> None:
    # A write-only sheet takes column widths and panes before its first row.
    for index, column in enumerate(layout.columns, start=1):
        dimensions = sheet.column_dimensions[get_column_letter(index)]
        dimensions.width = column.width
        if is_text(column):
            dimensions.number_format = TEXT_FORMAT
    # Frozen after the name, or after the first column of a ledger without one (单位, 当事人).
    name_index = next((i for i, column in enumerate(layout.columns, start=1) if column.key == "name"), 1)
    sheet.freeze_panes = f"{get_column_letter(name_index + 1)}{first_data_row}"
    sheet.print_title_rows = f"{TITLE_ROWS + 1}:{first_data_row - 1}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = True  # data cells have no borders of their own: see _DataCells


def _write_title(sheet: WriteOnlyWorksheet, layout: Layout, community_name: str, as_of: date) -> None:
    dated = f"社区：{community_name}　　日期：{as_of.year}年{as_of.month}月{as_of.day}日"
    sheet.append([_cell(sheet, layout.title, font=Font(bold=True, size=16), alignment=_CENTRED)])
    sheet.append([_cell(sheet, dated, alignment=Alignment(horizontal="left"))])
    for row in range(1, TITLE_ROWS + 1):
        _merge(sheet, row, 1, row, len(layout.columns))


def _write_headers(sheet: WriteOnlyWorksheet, layout: Layout) -> None:
    """One row of headers; two where a heading spans columns (家庭住址 over 楼院 … 房号),
    the other headers then filling both rows."""
    first_row = TITLE_ROWS + 1
    top, bottom = [], []
    for index, column in enumerate(layout.columns):
        continues_group = index > 0 and column.group and layout.columns[index - 1].group == column.group
        top.append(None if continues_group else column.group or column.header)
        bottom.append(column.header if column.group else None)
    sheet.append([_header_cell(sheet, text) for text in top])
    if layout.header_rows == 1:
        return
    sheet.append([_header_cell(sheet, text) for text in bottom])
    for index, column in enumerate(layout.columns, start=1):
        if not column.group:
            _merge(sheet, first_row, index, first_row + 1, index)
        elif top[index - 1]:
            span = sum(1 for other in layout.columns if other.group == column.group)
            _merge(sheet, first_row, index, first_row, index + span - 1)


class _DataCells:
    """Data cells of one sheet. A blank cell is not written at all unless it is on a head's
    row (which is shaded); it then takes its column's format, so a phone number typed into
    it later stays text. Styles are made once per column and copied, not looked up per cell:
    a survey of 10,000 households has half a million cells."""

    def __init__(self, sheet: WriteOnlyWorksheet, columns: tuple[Column, ...]) -> None:
        self.sheet = sheet
        self.styles = {
            (column.key, is_head): self._model(column, is_head)._style for column in columns for is_head in (False, True)
        }

    def _model(self, column: Column, is_head: bool) -> WriteOnlyCell:
        cell = _cell(self.sheet, None, alignment=Alignment(vertical="center", wrap_text=column.kind == "note"))
        if is_text(column):
            cell.number_format = TEXT_FORMAT
        if is_head:
            cell.fill = _HEAD_ROW_FILL
        return cell

    def cell(self, column: Column, shown: str | int | None, is_head: bool) -> WriteOnlyCell | None:
        if shown is None and not is_head:
            return None
        cell = WriteOnlyCell(self.sheet, shown)
        cell._style = copy(self.styles[column.key, is_head])  # openpyxl has no public way to share a style
        return cell


def _cell(sheet: WriteOnlyWorksheet, value: Any, **style: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _header_cell(sheet: WriteOnlyWorksheet, text: str | None) -> WriteOnlyCell:
    cell = _cell(sheet, text, font=Font(bold=True), alignment=_CENTRED, fill=_HEADER_FILL)
    cell.border = _BORDER
    return cell


def _merge(sheet: WriteOnlyWorksheet, min_row: int, min_col: int, max_row: int, max_col: int) -> None:
    # Merged ranges are written after the rows, so they may be added as the rows are.
    sheet.merged_cells.ranges.add(CellRange(min_col=min_col, min_row=min_row, max_col=max_col, max_row=max_row))


def _raw_rows(data: bytes, sheet_title: str) -> list[tuple[CellValue, ...]]:
    workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook[sheet_title] if sheet_title in workbook.sheetnames else workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions, which would cut rows off
        return list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def _header_index(raw_rows: list[tuple[CellValue, ...]], layout: Layout) -> int | None:
    first = _header_text(layout.columns[0].group or layout.columns[0].header)
    return next(
        (index for index, row in enumerate(raw_rows[:HEADER_SEARCH_ROWS]) if row and _header_text(row[0]) == first),
        None,
    )


def _header_errors(layout: Layout, header: list[tuple[CellValue, ...]], first_row: int) -> Iterator[SheetError]:
    top = header[0]
    bottom = header[1] if len(header) > 1 else ()
    for index, column in enumerate(layout.columns):
        expected = [(column.header, _at(bottom if column.group else top, index), first_row + bool(column.group))]
        if column.group and (index == 0 or layout.columns[index - 1].group != column.group):
            expected.append((column.group, _at(top, index), first_row))
        for text, seen, row in expected:
            if _header_text(seen) != _header_text(text):
                letter = get_column_letter(index + 1)
                error = field_error(column.key, "wrong_header", column=letter, expected=text, input=_shown(seen))
                yield SheetError.of(error, row, column)
    for offset, row in enumerate(header):
        for index in range(len(layout.columns), len(row)):
            if _header_text(row[index]):
                letter = get_column_letter(index + 1)
                error = field_error("", "extra_column", column=letter, input=_shown(row[index]))
                yield SheetError.of(error, first_row + offset, None)


def _records(layout: Layout, raw_rows: list[tuple[CellValue, ...]], first_index: int) -> Iterator[SheetRow]:
    width = len(layout.columns)
    for index in range(first_index, len(raw_rows)):
        cells = raw_rows[index][:width]
        if any(not _is_blank(value) for value in cells):
            yield index + 1, {column.key: _at(cells, i) for i, column in enumerate(layout.columns)}


def _file_error(code: str, **values: Any) -> SheetError:
    return SheetError.of(field_error("", code, **values), None, None)


def _header_text(value: CellValue) -> str:
    # Someone may wrap a long header onto two lines or type its brackets full-width.
    return "".join(unicodedata.normalize("NFKC", str(value)).split()) if value is not None else ""


def _shown(value: CellValue) -> str:
    return "" if value is None else str(value)


def _is_blank(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _at(row: tuple[CellValue, ...], index: int) -> CellValue:
    return row[index] if index < len(row) else None
