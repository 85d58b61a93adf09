"""One CSV row of an import, read under the job's column mapping: the upsert row it makes, or
why it cannot make one (customers/imports.py runs the import). The errors are in the language
active when the row is read: the check step's reader's; a queued import's, English."""

from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext, ngettext

from customers import exports
from customers.models import Channel, Frequency, ImportJob, Topic

IGNORE = "ignore"
CONSENT_FIELDS = tuple(f"consent_{channel}" for channel in Channel.values)
# How a frequency cell may say each choice (casefolded): its value or its label.
FREQUENCIES = {
    **{value: value for value in Frequency.values},
    **{label.casefold(): value for value, label in Frequency.choices},
    "less": Frequency.LESS,
}
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})


def _unescape(value: str) -> str:
    """Undo the quote our exports put before formula-like cells, so exports import back."""
    if len(value) > 1 and value[0] == "'" and value[1] in exports.FORMULA_STARTS:
        return value[1:]
    return value


def topics_by_name() -> dict[str, int]:
    """{name or slug, casefolded: topic id}: what a topics cell may call each topic."""
    names: dict[str, int] = {}
    for pk, name in Topic.objects.values_list("pk", "name"):
        names[slugify(name)] = pk
        names[name.strip().casefold()] = pk
    return names


def _topic_ids(value: str, topics: dict[str, int]) -> tuple[list[int], list[str]]:
    """The ids of the topics a cell names (;-separated names or slugs), and the unknown ones."""
    names = [name.strip() for name in value.split(";") if name.strip()]
    unknown = [name for name in names if name.casefold() not in topics]
    return sorted({topics[name.casefold()] for name in names if name not in unknown}), unknown


def row_of(
    cells: list[str], *, job: ImportJob, topics: dict[str, int] | None = None
) -> tuple[dict[str, Any], str]:
    """The upsert row one CSV row makes under the job's mapping, or what stops it.

    An empty cell leaves the field as it is (a new customer gets the default), so a list
    with a few columns filled never wipes what Bonding knows. A topics cell names all the
    customer's topics (by name or slug, ;-separated; "none" for none).
    """
    width = len(job.header)
    mapped = [(int(index), field) for index, field in job.mapping.items() if field != IGNORE]
    if any(cell.strip() for cell in cells[width:]) or any(i >= len(cells) for i, _ in mapped):
        return {}, ngettext(
            "This row has %(count)s cell where the header has %(width)s "
            "(a separator or a quote out of place?).",
            "This row has %(count)s cells where the header has %(width)s "
            "(a separator or a quote out of place?).",
            len(cells),
        ) % {"count": len(cells), "width": width}
    row: dict[str, Any] = {}
    problems = []
    for index, field in mapped:
        value = _unescape(cells[index].strip())
        if not value:
            continue
        if field in CONSENT_FIELDS:
            answer = value.casefold()
            if answer not in YES | NO:
                problems.append(
                    gettext("Column “%(column)s”: “%(value)s” is not yes, no, true, false, 1 or 0.")
                    % {"column": job.header[index], "value": value}
                )
            else:
                row.setdefault("consents", {})[field.removeprefix("consent_")] = answer in YES
        elif field == "topics":
            if value.casefold() == "none":
                row["topics"] = []
                continue
            ids, unknown = _topic_ids(value, topics if topics is not None else topics_by_name())
            if unknown:
                problems.append(
                    gettext("Column “%(column)s”: unknown topics: %(topics)s.")
                    % {"column": job.header[index], "topics": ", ".join(unknown)}
                )
            else:
                row["topics"] = ids
        elif field == "frequency":
            # An unknown word goes through as it is, refused by the row's check like any choice.
            row[field] = FREQUENCIES.get(value.casefold(), value)
        elif field == "estimated_wallet" and job.delimiter == ";" and "." not in value:
            row[field] = value.replace(",", ".")  # 1234,50 where commas are decimal points
        else:
            row[field] = value
    return row, " ".join(problems)


def _reason(errors: dict[str, list[str]], *, job: ImportJob) -> str:
    """Errors by field, named by the file's own column headers."""
    columns = {field: job.header[int(index)] for index, field in job.mapping.items()}
    parts = []
    for field, messages in errors.items():
        column = columns.get(field)
        if column:
            parts += [
                gettext("Column “%(column)s”: %(message)s") % {"column": column, "message": message}
                for message in messages
            ]
        else:
            parts += messages
    return " ".join(parts)
