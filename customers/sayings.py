"""Texts written once and read later, in the reader's language.

A timeline line is stored as its message id (marked with gettext_noop where it is written) and
its parameters; the words of a choice are stored as the choice's value, never its label. Read,
the line is translated into the language active then. The English text is stored beside it:
it is what old rows and free text show, and what a line shows should its message go away.
"""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.utils import formats, translation

# Where a text with a plural keeps its plural message id, among its parameters.
PLURAL = "_plural"

# The choices a parameter may name, by a stable name: value -> label (a lazy translation).
CHOICES: dict[str, Mapping[str, Any]] = {}


def register_choices(name: str, labels: Mapping[str, Any]) -> None:
    """Name a set of choices so stored lines can say a value of it (an app's ready() calls)."""
    CHOICES[name] = labels


def choice(name: str, value: str) -> dict[str, str]:
    """A parameter that is a choice's value: shown in the reader's language when read."""
    return {"choice": name, "value": str(value)}


def amount(value: Decimal, *, places: int = 2) -> dict[str, str]:
    """A parameter that is an amount: written with the reader's separators when read, with
    `places` decimals."""
    fields = {"amount": str(value)}
    if places != 2:
        fields["places"] = str(places)
    return fields


def listed(texts: list[str]) -> dict[str, list]:
    """A parameter that is a list of texts (English() ones said again when read), joined by
    semicolons."""
    return {
        "listed": [
            quoted(key=t.key, args=t.args, text=str(t)) if isinstance(t, English) else t
            for t in texts
        ]
    }


def ngettext_noop(singular: str, plural: str) -> tuple[str, str]:
    """Mark a text with a plural for makemessages (see its command); said() stores both."""
    return singular, plural


def said(msgid: str | tuple[str, str], *, field: str = "title", **args: Any) -> dict[str, Any]:
    """The fields of a stored text: its message id, its parameters and its English text.

    `field` names the model's text field; its `_key` and `_args` fields sit beside it. A text
    with a plural (ngettext_noop) is said by its `count` parameter.
    """
    text, key, stored = _in_english(msgid, args)
    return {field: text[:300], f"{field}_key": key, f"{field}_args": stored}


def _in_english(
    msgid: str | tuple[str, str], args: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    stored = {name: v if isinstance(v, dict) else str(v) for name, v in args.items()}
    if isinstance(msgid, tuple):
        msgid, stored[PLURAL] = msgid
    with translation.override("en"):
        return _render(msgid, stored, translate=False), msgid, stored


class English(str):
    """A text said in English now, that keeps its message id and parameters: stored, compared
    and logged as the English (a reason in a report), said again by translated()."""

    key: str
    args: dict[str, Any]

    def __new__(cls, text: str, key: str, args: Mapping[str, Any]) -> "English":
        english = super().__new__(cls, text)
        english.key, english.args = key, dict(args)
        return english

    def __reduce__(self) -> tuple:
        return English, (str(self), self.key, self.args)


def english(msgid: str | tuple[str, str], **args: Any) -> English:
    """A text with parameters (its message id marked where it is written), in English, whole:
    whoever stores it cuts it to their column."""
    return English(*_in_english(msgid, args))


# Texts with parameters kept as their English words alone, in a column with no room for a
# message id (a touch's error, an enrollment's exit reason): each is read back by matching its
# English form, [(pattern, message id, plural message id or "", parameters that are our own
# texts)], longest message first.
_KEPT_AS_TEXT: list[tuple[re.Pattern[str], str, str, frozenset[str]]] = []
Kept = TypeVar("Kept", str, tuple[str, str])
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Parameters that are whole numbers by name: matched as digits only.
_WHOLE_NUMBERS = frozenset({"count", "line"})
# An English number with thousands separators ("20,000"): written again with the reader's.
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")


def kept_as_text(msgid: Kept, *, texts: Iterable[str] = ()) -> Kept:
    """Mark (beside gettext_noop or ngettext_noop) a text with parameters that is stored as
    its English words only, so translated() can say it again in the reader's language.

    `texts` names the parameters that are texts of ours, said again too (the reason an
    enrollment ended); any other parameter (a name, a provider's words) stays as it came.
    """
    singular, plural = msgid if isinstance(msgid, tuple) else (msgid, "")
    for form in filter(None, (singular, plural)):
        _KEPT_AS_TEXT.append((_english_form(form), singular, plural, frozenset(texts)))
    _KEPT_AS_TEXT.sort(key=lambda kept: -len(kept[0].pattern))
    return msgid


def _english_form(msgid: str) -> re.Pattern[str]:
    parts, seen = [], set()
    for index, piece in enumerate(_PLACEHOLDER.split(msgid.replace("%%", "%"))):
        if index % 2 == 0:
            parts.append(re.escape(piece))
        else:
            value = r"\d+" if piece in _WHOLE_NUMBERS else ".+?"
            parts.append(f"(?P={piece})" if piece in seen else f"(?P<{piece}>{value})")
            seen.add(piece)
    if len(parts) < 3 or not any(parts[::2]):
        raise ValueError(f"{msgid!r} has no words of its own to be recognised by")
    return re.compile("".join(parts), re.DOTALL)


def translated(text: str) -> str:
    """A text in the active language: an English() by its message id, a text marked with
    gettext_noop by its catalog, one marked kept_as_text by its English form; anything else
    (a person's words, a provider's) as it is."""
    if isinstance(text, English):
        return shown(key=text.key, args=text.args, fallback=str(text))
    if not text:
        return text
    said_again = translation.gettext(text)
    if said_again != text:
        return said_again
    for pattern, singular, plural, texts in _KEPT_AS_TEXT:
        if match := pattern.fullmatch(text):
            args: dict[str, Any] = {
                name: translated(value) if name in texts else _as_found(value)
                for name, value in match.groupdict().items()
            }
            if plural:
                args[PLURAL] = plural
            return shown(key=singular, args=args, fallback=text)
    return text


def _as_found(value: str) -> Any:
    if _GROUPED.fullmatch(value):
        return amount(Decimal(value.replace(",", "")), places=0)
    return value


def quoted(*, key: str, args: Mapping[str, Any], text: str) -> dict[str, Any] | str:
    """A stored text as a parameter of another: said again in the reader's language."""
    return {"said": key, "args": dict(args), "text": text} if key else text


def shown(*, key: str, args: Mapping[str, Any], fallback: str) -> str:
    """The line in the active language; the stored English when it cannot be said."""
    if not key:
        return fallback
    try:
        return _render(key, args, translate=True)
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return fallback


def _render(msgid: str, args: Mapping[str, Any], *, translate: bool) -> str:
    if PLURAL in args:
        count = int(args["count"])
        if translate:
            template = translation.ngettext(msgid, args[PLURAL], count)
        else:
            template = msgid if count == 1 else args[PLURAL]
    else:
        template = translation.gettext(msgid) if translate else msgid
    return template % {name: _word(value) for name, value in args.items() if name != PLURAL}


def _word(value: Any) -> str:
    if isinstance(value, dict) and "said" in value:
        return shown(key=value["said"], args=value.get("args", {}), fallback=value.get("text", ""))
    if isinstance(value, dict) and "amount" in value:
        return formats.number_format(
            Decimal(value["amount"]),
            decimal_pos=int(value.get("places", 2)),
            use_l10n=True,
            force_grouping=True,
        )
    if isinstance(value, dict) and "listed" in value:
        return "; ".join(_word(item) for item in value["listed"])
    if isinstance(value, dict):
        labels = CHOICES.get(value.get("choice", ""), {})
        raw = value.get("value", "")
        return str(labels.get(raw, raw))
    return str(value)
