"""Reads of the themes in what customers say: per theme how many answers mention it, their
NPS with its margin of error, the detractors' and promoters' shares, the month-by-month trend
and two example quotes; the page and the API show the same.

Every answer's figures (what marketers see) come from the tallies and examples nps.theming
keeps with each theme, counted when its answers were last assigned: three queries, a few
hundred rows. A narrower set of answers (an account manager's customers') is counted from the
mentions of those answers: four queries.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncMonth

from nps import queries, score, theming
from nps.models import Response, Theme, ThemeMention, ThemeTally
from nps.services import organization_zone

# What an example shows of its answer.
_SHOWN = ("id", "customer_id", "score", "category", "why", "improve", "answered_at")


@dataclass(frozen=True)
class Month:
    """One month of a theme: the answers that mention it then, and their NPS."""

    key: str
    label: str
    summary: score.Summary


@dataclass(frozen=True)
class ThemeRow:
    """One theme and what the customers who mention it say and score."""

    theme: Theme
    summary: score.Summary
    months: list[Month]
    examples: list[Response]

    @property
    def detractor_share(self) -> float | None:
        return _share(self.summary.detractors, self.summary.responses)

    @property
    def promoter_share(self) -> float | None:
        return _share(self.summary.promoters, self.summary.responses)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def current_themes(*, survey_id: int | None = None, language: str | None = None) -> list[Theme]:
    """The themes in use over every survey (or one), by name."""
    themes = Theme.objects.filter(survey_id=survey_id, is_current=True)
    if language:
        themes = themes.filter(language=language)
    return list(
        themes.only("id", "name", "language", "terms", "renamed_by_user", "survey_id", "examples")
    )


def _mentions(
    themes: list[Theme], responses_qs: QuerySet[Response] | None
) -> QuerySet[ThemeMention]:
    mentions = ThemeMention.objects.filter(theme__in=[theme.pk for theme in themes])
    if responses_qs is not None and responses_qs.query.has_filters():
        mentions = mentions.filter(response__in=responses_qs.values("pk"))
    return mentions.order_by()


def theme_rows(
    *,
    responses_qs: QuerySet[Response] | None = None,
    survey_id: int | None = None,
    language: str | None = None,
    themes: list[Theme] | None = None,
    months: int = 12,
    today: date | None = None,
) -> list[ThemeRow]:
    """Every current theme with its figures, most mentioned first (of `themes`, when the
    caller has read them already)."""
    if themes is None:
        themes = current_themes(survey_id=survey_id, language=language)
    if not themes:
        return []
    if responses_qs is None or not responses_qs.query.has_filters():
        counts, trends, examples = _tallied(themes, months=months, today=today)
    else:
        mentions = _mentions(themes, responses_qs)
        counts = {
            row["theme_id"]: score.summarize(
                promoters=row["promoters"], passives=row["passives"], detractors=row["detractors"]
            )
            for row in mentions.values("theme_id").annotate(**_counts())
        }
        trends = _months(mentions, months=months, today=today)
        examples = _examples(mentions)
    empty = score.summarize(promoters=0, passives=0, detractors=0)
    rows = [
        ThemeRow(
            theme=theme,
            summary=counts.get(theme.pk, empty),
            months=trends.get(theme.pk) or _months_of({}, months=months, today=today),
            examples=examples.get(theme.pk, []),
        )
        for theme in themes
    ]
    return sorted(rows, key=lambda row: (-row.summary.responses, row.theme.name, row.theme.pk))


def _tallied(
    themes: list[Theme], *, months: int, today: date | None
) -> tuple[dict[int, score.Summary], dict[int, list[Month]], dict[int, list[Response]]]:
    """Every answer's figures, from the tallies and examples kept with the themes (as of
    their last refit, merge or split): two queries, however many answers."""
    keys = {key for key, _ in queries.month_keys(months=months, today=today)}
    spread: dict[int, list[int]] = {}
    per_month: dict[int, dict[str, list[int]]] = {}
    tallies = ThemeTally.objects.filter(theme__in=[theme.pk for theme in themes]).order_by()
    for theme_id, month, value, answers in tallies.values_list(
        "theme_id", "month", "score", "answers"
    ):
        spread.setdefault(theme_id, [0] * 11)[value] += answers
        key = f"{month:%Y-%m}"
        if key in keys:
            per_month.setdefault(theme_id, {}).setdefault(key, [0] * 11)[value] += answers
    counts = {theme_id: _from_spread(counted) for theme_id, counted in spread.items()}
    trends = {
        theme_id: _months_of(
            {key: _from_spread(counted) for key, counted in found.items()},
            months=months,
            today=today,
        )
        for theme_id, found in per_month.items()
    }
    wanted = [pk for theme in themes for pk in theme.examples]
    found_examples = {
        response.pk: response for response in Response.objects.filter(pk__in=wanted).only(*_SHOWN)
    }
    examples = {
        theme.pk: [found_examples[pk] for pk in theme.examples if pk in found_examples]
        for theme in themes
    }
    return counts, trends, examples


def _from_spread(counts: list[int]) -> score.Summary:
    return score.summarize(
        promoters=sum(counts[score.PROMOTER_MIN :]),
        passives=sum(counts[score.PASSIVE_MIN : score.PROMOTER_MIN]),
        detractors=sum(counts[: score.PASSIVE_MIN]),
    )


def _counts() -> dict[str, Count]:
    return {
        "promoters": Count("id", filter=Q(response__score__gte=score.PROMOTER_MIN)),
        "passives": Count(
            "id",
            filter=Q(
                response__score__gte=score.PASSIVE_MIN, response__score__lt=score.PROMOTER_MIN
            ),
        ),
        "detractors": Count("id", filter=Q(response__score__lt=score.PASSIVE_MIN)),
    }


def _months(
    mentions: QuerySet[ThemeMention], *, months: int, today: date | None
) -> dict[int, list[Month]]:
    """Each theme's last `months` months (empty months included), from one grouped query."""
    since = queries.month_start(months=months, today=today)
    rows = (
        mentions.filter(response__answered_at__gte=since)
        .annotate(month=TruncMonth("response__answered_at", tzinfo=organization_zone()))
        .values("theme_id", "month")
        .annotate(**_counts())
    )
    per_theme: dict[int, dict[str, score.Summary]] = {}
    for row in rows:
        per_theme.setdefault(row["theme_id"], {})[f"{row['month']:%Y-%m}"] = score.summarize(
            promoters=row["promoters"], passives=row["passives"], detractors=row["detractors"]
        )
    return {
        theme_id: _months_of(found, months=months, today=today)
        for theme_id, found in per_theme.items()
    }


def _months_of(found: dict[str, score.Summary], *, months: int, today: date | None) -> list[Month]:
    empty = score.summarize(promoters=0, passives=0, detractors=0)
    return [
        Month(key, label, found.get(key, empty))
        for key, label in queries.month_keys(months=months, today=today)
    ]


def _examples(mentions: QuerySet[ThemeMention]) -> dict[int, list[Response]]:
    """Each theme's clearest answers (newest first among equals), from one windowed query."""
    ranked = (
        mentions.annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("theme_id"),
                order_by=[F("share").desc(), F("response__answered_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=theming.EXAMPLES)
        .select_related("response")
        .only("theme_id", *(f"response__{field}" for field in _SHOWN))
        .order_by("theme_id", "rank")
    )
    examples: dict[int, list[Response]] = {}
    for mention in ranked:
        examples.setdefault(mention.theme_id, []).append(mention.response)
    return examples
