"""The static NDR checks (catalogue mode S), in the order the linter runs them.

The checks live by concern (header_checks.py, structure_checks.py,
field_checks.py, status_checks.py); this module only lists them.  The order is
kept as it is because findings on the same line are reported in it.  A check
that reads the delivery-status fields is skipped when there are none: the
absence is MPR-007's finding, not one per field.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import field_checks, header_checks, status_checks, structure_checks
from .hits import Hit, NDRCheck
from .message import NDRMessage


def _needs_status(check: NDRCheck) -> NDRCheck:
    """*check*, run only when the NDR has delivery-status fields."""

    def guarded(ndr: NDRMessage) -> Iterator[Hit]:
        if ndr.status is None:
            return iter(())
        return check(ndr)

    guarded.__name__ = check.__name__
    return guarded


#: checks of the header section, run on every DSN
HEADER_CHECKS: tuple[NDRCheck, ...] = (
    header_checks.header_counts,
    header_checks.header_date,
    header_checks.header_from,
    header_checks.header_auto_submitted,
    header_checks.line_lengths,
    header_checks.header_names,
    header_checks.header_subject,
)

#: checks of the report's structure and fields, run on every DSN
DSN_CHECKS: tuple[NDRCheck, ...] = (
    structure_checks.report_structure,
    structure_checks.nested_boundaries,
    structure_checks.status_part_encoding,
    _needs_status(field_checks.body_grammar),
    _needs_status(field_checks.duplicates),
    _needs_status(field_checks.typed_fields),
    _needs_status(field_checks.reporting_mta),
    _needs_status(field_checks.recipient_fields),
    structure_checks.preamble_and_human_text,
    structure_checks.returned_content,
    _needs_status(status_checks.status_registry_and_hints),
    _needs_status(field_checks.field_details),
    structure_checks.global_types,
)
