"""Reporting agent: turns an execution's numbers into a report whose every claim the stored results confirm.

The report is drafted from the execution summary as sentences carrying claims
(``build.draft_report``); the claims are re-derived from the per-vertex results the
execution stored and only those that hold are published (``build.publish``). A model
behind an HTTP provider may reword the verified report; what it states beyond it is
dropped (``supported.keep_supported``). Output constraints from the documents are obeyed:
names pseudonymised, lists capped, a CSV export written, and no stored name of a
constrained vertex may appear in any file. Markdown, JSON, self-contained HTML (and CSV)
go to the ``gaai_reports`` object store under ``<workflow_id>/<template_id>.<format>``.
"""

from gaai.agents.reporting.handler import handle

__all__ = ["handle"]
