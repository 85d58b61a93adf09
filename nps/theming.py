"""Writes of themes: the refit (nightly by beat, and on a marketer's demand), and a marketer's
rename, merge and split. The fitting itself is nps/themes.py.

A refit replaces the machine's view and keeps the marketer's: a theme found again (its top
terms overlap an earlier theme's) keeps that theme's row, so a name a marketer gave stays; a
theme found again that was merged goes on adding its answers to the theme it was merged into;
a theme found again that was split is split again and its halves keep their names.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.utils.timezone import get_default_timezone, now
from django.utils.translation import gettext

from nps import themes
from nps.models import Response, Survey, Theme, ThemeMention, ThemeTally

# The answers of a refit are read and written this many at a time.
BATCH = 5_000
# Beside every survey's scope (survey None), one lock key per survey.
_LOCK_BASE = 0x7E_4E_00_00
NAME_MAX = 120  # Theme.name's max_length
# Example answers kept per theme.
EXAMPLES = 2


@dataclass(frozen=True)
class RefitOutcome:
    """What a refit found: themes per language, answers read, and answers given a theme."""

    themes: dict[str, int]
    answers: int
    assigned: int


@dataclass
class _Answers:
    ids: list[int]
    texts: list[str]


def _read_answers(survey: Survey | None) -> dict[str, _Answers]:
    """Every answer that says something, by language, in id order (so a refit of the same
    answers samples and fits the same way)."""
    answers = Response.objects.exclude(why="", improve="")
    if survey is not None:
        answers = answers.filter(survey=survey)
    by_language: dict[str, _Answers] = {}
    # The customer's language comes along in the same query (a join, not a query per answer).
    rows = answers.order_by("id").values_list("id", "why", "improve", "customer__language")
    organization = settings.LANGUAGE_CODE.split("-")[0]
    for pk, why, improve, chosen in rows.iterator(chunk_size=BATCH):
        text = f"{why}\n{improve}".strip()
        # The text decides: a customer whose pages are set to German may well write English,
        # and their answer fits with the English ones. Only when the words do not tell ("Top!",
        # "No.") is the language they chose (else the organization's) the better guess.
        language = themes.language_of(text, otherwise=chosen or organization)
        found = by_language.setdefault(language, _Answers([], []))
        found.ids.append(pk)
        found.texts.append(text)
    return by_language


def refit_themes(*, survey: Survey | None = None) -> RefitOutcome:
    """Fit themes afresh over every answer (or one survey's) and store them, keeping what
    marketers named, merged and split."""
    by_language = _read_answers(survey)
    # Fitting takes a while and needs no lock; only the swap below is one transaction.
    fits = {
        language: themes.fit(answers.texts, language=language)
        for language, answers in sorted(by_language.items())
    }
    with transaction.atomic():
        _lock_scope(survey)
        # A marketer's merge or split between the read and here is not lost: their themes are
        # read now, and the fit is matched against them.
        scope = Theme.objects.filter(survey=survey)
        ThemeMention.objects.filter(theme__in=scope).delete()
        kept: set[int] = set()
        assigned = 0
        for language, fit in fits.items():
            answers = by_language[language]
            kept |= _store_fit(survey, fit, answers)
            assigned += sum(a is not None for a in fit.assignments)
        _retire(scope.filter(is_current=True).exclude(pk__in=kept))
        recount(theme_ids=sorted(kept))
    return RefitOutcome(
        themes={language: len(fit.themes) for language, fit in fits.items()},
        answers=sum(len(a.ids) for a in by_language.values()),
        assigned=assigned,
    )


def _lock_scope(survey: Survey | None) -> None:
    """One refit or theme change at a time per scope (two would both create the themes)."""
    if connection.vendor == "postgresql":
        key = _LOCK_BASE + (survey.pk if survey is not None else 0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    # SQLite writes one transaction at a time already.


def _store_fit(survey: Survey | None, fit: themes.Fit, answers: _Answers) -> set[int]:
    """Match the fit's themes to the stored ones, write them and their answers; the ids of the
    current themes that hold answers now."""
    # Current themes, and those set aside that carry a marketer's decision.
    previous = list(
        Theme.objects.filter(survey=survey, language=fit.language)
        .annotate(was_split=Exists(Theme.objects.filter(split_from=OuterRef("pk"))))
        .filter(
            Q(is_current=True)
            | Q(merged_into__isnull=False)
            | Q(was_split=True)
            | Q(renamed_by_user=True)
        )
        .order_by("id")
    )
    by_pk = {theme.pk: theme for theme in previous}
    matched = themes.match({t.pk: t.terms for t in previous}, [f.terms for f in fit.themes])
    members: dict[int, list[int]] = defaultdict(list)  # theme index -> answer positions
    for position, assignment in enumerate(fit.assignments):
        if assignment is not None:
            members[assignment[0]].append(position)
    kept: set[int] = set()
    moment = now()
    for index, found in enumerate(fit.themes):
        old = by_pk.get(matched[index]) if index in matched else None
        positions = members[index]
        if old is not None and not old.is_current and old.was_split:
            # A theme a marketer split: split its answers again.
            halves = _split_again(old, [answers.texts[p] for p in positions], fit.language)
            if halves is not None:
                for theme, chosen in halves:
                    kept.add(theme.pk)
                    _write_mentions(theme, [positions[i] for i in chosen], fit, answers)
                continue
        theme = _theme_for(survey, fit.language, found, old, moment)
        kept.add(theme.pk)
        _write_mentions(theme, positions, fit, answers)
    return kept


def _live(theme: Theme) -> Theme:
    """The theme a merged theme's answers go to (following merges of merges)."""
    seen = {theme.pk}
    while theme.merged_into_id is not None and theme.merged_into_id not in seen:
        seen.add(theme.merged_into_id)
        theme = Theme.objects.get(pk=theme.merged_into_id)
    return theme


def _theme_for(
    survey: Survey | None,
    language: str,
    found: themes.FoundTheme,
    old: Theme | None,
    moment: datetime,
) -> Theme:
    """The stored theme a found theme is: the old one brought up to date, or a new one."""
    if old is None:
        return Theme.objects.create(
            survey=survey,
            language=language,
            name=found.name,
            terms=list(found.terms),
            fitted_at=moment,
        )
    if old.merged_into_id is not None:
        live = _live(old)
        if not live.is_current:
            live.is_current = True
            live.save(update_fields=["is_current"])
        return live
    old.terms = list(found.terms)
    old.is_current = True
    old.fitted_at = moment
    if not old.renamed_by_user:
        old.name = found.name
    old.save(update_fields=["terms", "is_current", "fitted_at", "name"])
    return old


def _write_mentions(
    theme: Theme, positions: Sequence[int], fit: themes.Fit, answers: _Answers
) -> None:
    """The theme's answers, written a batch at a time (a million rows never held at once)."""
    for start in range(0, len(positions), BATCH):
        batch = []
        for position in positions[start : start + BATCH]:
            assignment = fit.assignments[position]
            share = assignment[1] if assignment is not None else 0.0
            batch.append(ThemeMention(theme=theme, response_id=answers.ids[position], share=share))
        ThemeMention.objects.bulk_create(batch)


def _split_again(
    parent: Theme, texts: list[str], language: str
) -> list[tuple[Theme, list[int]]] | None:
    """The answers of a theme found again after a marketer split it, split in two again and
    given to the halves they match (a new half where one does not); None when too few."""
    halves = themes.fit(texts, language=language, themes=2)
    if len(halves.themes) < 2:
        return None
    children = list(parent.split_themes.filter(merged_into__isnull=True))
    matched = themes.match({c.pk: c.terms for c in children}, [h.terms for h in halves.themes])
    by_pk = {child.pk: child for child in children}
    moment = now()
    result = []
    for index, found in enumerate(halves.themes):
        old = by_pk.get(matched[index]) if index in matched else None
        theme = _theme_for(parent.survey, language, found, old, moment)
        if old is None:
            theme.split_from = parent
            theme.save(update_fields=["split_from"])
        chosen = [i for i, a in enumerate(halves.assignments) if a is not None and a[0] == index]
        result.append((theme, chosen))
    # What neither half holds clearly goes to the bigger one.
    unclear = [i for i, a in enumerate(halves.assignments) if a is None]
    result[0][1].extend(unclear)
    return result


def _retire(stale: QuerySet[Theme]) -> None:
    """Themes a refit did not find again: kept (off) when a marketer named them or merged into
    them, so their name returns with them; else deleted."""
    marked = Q(renamed_by_user=True) | Q(merged_themes__isnull=False) | Q(split_from__isnull=False)
    keep = set(stale.filter(marked).values_list("pk", flat=True))
    stale.filter(pk__in=keep).update(is_current=False)
    stale.exclude(pk__in=keep).delete()


def recount(*, theme_ids: Sequence[int]) -> None:
    """Count these themes' answers per month and score afresh, and pick their examples: the
    page reads these, so they change whenever the themes' answers do."""
    ThemeTally.objects.filter(theme_id__in=theme_ids).delete()
    mentions = ThemeMention.objects.filter(theme_id__in=theme_ids).order_by()
    rows = (
        # The organization's months, as the NPS tallies count them (settings.TIME_ZONE).
        mentions.annotate(month=TruncMonth("response__answered_at", tzinfo=get_default_timezone()))
        .values("theme_id", "month", "response__score")
        .annotate(answers=Count("id"))
    )
    ThemeTally.objects.bulk_create(
        (
            ThemeTally(
                theme_id=row["theme_id"],
                month=_first_day(row["month"]),
                score=row["response__score"],
                answers=row["answers"],
            )
            for row in rows.iterator(chunk_size=BATCH)
        ),
        batch_size=BATCH,
    )
    ranked = (
        mentions.annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("theme_id"),
                order_by=[F("share").desc(), F("response__answered_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=EXAMPLES)
        .order_by("theme_id", "rank")
        .values_list("theme_id", "response_id")
    )
    examples: dict[int, list[int]] = {pk: [] for pk in theme_ids}
    for theme_id, response_id in ranked:
        examples[theme_id].append(response_id)
    for theme_id, chosen in examples.items():
        Theme.objects.filter(pk=theme_id).update(examples=chosen)


def _first_day(month: date | datetime) -> date:
    return month.date() if isinstance(month, datetime) else month


def rename_theme(*, theme: Theme, name: str) -> Theme:
    """Give a theme a marketer's name, kept across refits."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": [gettext("A theme needs a name.")]})
    if len(name) > NAME_MAX:
        raise ValidationError(
            {"name": [gettext("At most %(limit)s characters.") % {"limit": NAME_MAX}]}
        )
    with transaction.atomic():
        _lock_scope(theme.survey)
        Theme.objects.filter(pk=theme.pk).update(name=name, renamed_by_user=True)
    theme.name, theme.renamed_by_user = name, True
    return theme


def merge_themes(*, theme: Theme, into: Theme) -> Theme:
    """Fold one theme into another (same survey and language): its answers move, and a refit
    that finds it again adds to the other."""
    if theme.pk == into.pk:
        raise ValidationError({"into": [gettext("A theme cannot be merged into itself.")]})
    if (theme.survey_id, theme.language) != (into.survey_id, into.language):
        raise ValidationError(
            {"into": [gettext("Only themes of the same survey and language merge.")]}
        )
    with transaction.atomic():
        _lock_scope(theme.survey)
        current = Theme.objects.filter(pk__in=[theme.pk, into.pk], is_current=True).count()
        if current != 2:
            raise ValidationError({"into": [gettext("Both themes must be current.")]})
        ThemeMention.objects.filter(theme=theme).update(theme=into)
        Theme.objects.filter(pk=theme.pk).update(merged_into=into, is_current=False)
        recount(theme_ids=[into.pk])
    return into


def split_theme(*, theme: Theme) -> list[Theme]:
    """Refit one theme's answers into two themes; the theme itself is set aside, and a refit
    that finds it again splits it again."""
    rows = list(
        ThemeMention.objects.filter(theme=theme)
        .order_by("response_id")
        .values_list("response_id", "response__why", "response__improve")
    )
    texts = [f"{why}\n{improve}".strip() for _, why, improve in rows]
    halves = themes.fit(texts, language=theme.language, themes=2)
    if len(halves.themes) < 2:
        raise ValidationError(
            {
                "theme": [
                    gettext("Too few answers to split (at least %(count)s are needed).")
                    % {"count": themes.MIN_ANSWERS}
                ]
            }
        )
    with transaction.atomic():
        _lock_scope(theme.survey)
        if not Theme.objects.filter(pk=theme.pk, is_current=True).exists():
            raise ValidationError({"theme": [gettext("This theme is no longer current.")]})
        moment = now()
        made = [
            Theme.objects.create(
                survey=theme.survey,
                language=theme.language,
                name=found.name,
                terms=list(found.terms),
                split_from=theme,
                fitted_at=moment,
            )
            for found in halves.themes
        ]
        ThemeMention.objects.filter(theme=theme).delete()
        ThemeMention.objects.bulk_create(
            [
                ThemeMention(
                    theme=made[a[0] if a is not None else 0],
                    response_id=pk,
                    share=a[1] if a is not None else 0.0,
                )
                for (pk, _, _), a in zip(rows, halves.assignments, strict=True)
            ],
            batch_size=BATCH,
        )
        Theme.objects.filter(pk=theme.pk).update(is_current=False)
        # The halves take over from themes merged into this one: a refit that finds those
        # again finds them in the halves.
        Theme.objects.filter(merged_into=theme).update(merged_into=None)
        recount(theme_ids=[half.pk for half in made])
    return made
