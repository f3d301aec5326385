"""Reads a report's exports with independent readers and prints what they hold as JSON.

Usage: read_exports.py WORKBOOK.xlsx [TABLE.csv ...]

The workbook is read with openpyxl (every sheet: its name, its frozen cell, whether the header
row is bold, and its rows of cells as openpyxl gives them: numbers as int or float, text as
str, an empty cell as null); each CSV with Python's csv module, after checking that it starts
with a UTF-8 byte-order mark. The Rust test compares all of it with the JSON report.
"""

import csv
import json
import sys

import openpyxl


def read_workbook(path):
    workbook = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    for sheet in workbook.worksheets:
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        header_bold = all(cell.font.b for cell in sheet[1] if cell.value is not None) if sheet.max_row else False
        sheets.append(
            {
                "name": sheet.title,
                "freeze": sheet.freeze_panes,
                "header_bold": header_bold,
                "rows": rows,
            }
        )
    return {"title": workbook.properties.title, "sheets": sheets}


def read_csv(path):
    with open(path, "rb") as raw:
        bom = raw.read(3) == b"\xef\xbb\xbf"
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = list(csv.reader(file))
    return {"bom": bom, "rows": rows}


def main():
    workbook = read_workbook(sys.argv[1])
    csvs = [read_csv(path) for path in sys.argv[2:]]
    print(json.dumps({"workbook": workbook, "csvs": csvs}, ensure_ascii=False))


if __name__ == "__main__":
    main()
