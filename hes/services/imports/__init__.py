"""CSV bulk import of customers, meters and SIM cards, and the templates to fill in."""

from hes.services.imports.importer import BATCH_ROWS, MAX_REPORTED_PROBLEMS, import_csv
from hes.services.imports.report import ImportEntity, ImportMode, ImportReport, RowProblem
from hes.services.imports.templates import TEMPLATES, Template, template_csv

__all__ = [
    "BATCH_ROWS",
    "MAX_REPORTED_PROBLEMS",
    "TEMPLATES",
    "ImportEntity",
    "ImportMode",
    "ImportReport",
    "RowProblem",
    "Template",
    "import_csv",
    "template_csv",
]
