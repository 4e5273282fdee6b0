"""The campaign results report: anonymised figures of a period (and province), as a workbook and a PDF.

`build.make_report` gathers the figures (`figures`, `conversations`, `cases`, `outreach`) into `tables.Report`,
where every count is already suppressed; `workbook`, `charts` and `pdf` only render it; `files` writes both.
"""
