"""The list's search: best matches first, every match found once, pages that add up."""

import pytest
from django.http import QueryDict

from customers import queries, records
from customers.filters import CustomerFilter
from customers.models import Account, Customer, Tier

pytestmark = pytest.mark.django_db


def make(owner, first: str, last: str, **fields) -> Customer:
    data = {"first_name": first, "last_name": last, "owner": owner}
    data["email"] = fields.pop("email", f"{first}.{last}@example.com".lower().replace("'", ""))
    data.update(fields)
    return records.create_customer(data=data, by=owner)


@pytest.fixture
def people(manager, other_manager):
    acme = Account.objects.create(name="Ashton Tools")
    return {
        "zoe": make(manager, "Zoe", "Ashton"),
        "abe": make(manager, "Abe", "ashton-Price"),  # case and a suffix do not matter
        "ann": make(other_manager, "Ann", "Ashton"),
        "mia": make(manager, "Mia", "Washton"),  # contains the word, does not begin with it
        "ash": make(manager, "Ashtonia", "Young"),  # a first name
        "kim": make(manager, "Kim", "Lee", email="kim.ashton@example.com"),
        "tom": make(manager, "Tom", "Dale", account=acme),
        "no": make(manager, "Nora", "Hart"),
    }


def names(rows) -> list[str]:
    return [f"{c.first_name} {c.last_name}" for c in rows]


def search(user, query: str, *, size: int = 50) -> tuple[list, list]:
    """(every page of the list, read page by page, qs in one piece) for `query`."""
    filters = CustomerFilter(QueryDict(query), queryset=queries.visible_customers(user))
    assert filters.is_valid()
    groups = filters.best_match_groups()
    pages, number = [], 1
    while True:
        page = queries.page_across(groups, number=number, size=size)
        pages.append(page.rows)
        if not page.has_next:
            return pages, list(filters.qs)
        number += 1


def test_surnames_beginning_with_the_word_come_first_then_the_other_matches(people, marketer):
    pages, whole = search(marketer, "q=ashton")

    assert names(pages[0]) == [
        "Ann Ashton",
        "Zoe Ashton",
        "Abe ashton-Price",  # surname begins with it, by name
        "Ashtonia Young",  # first name begins with it
        "Tom Dale",
        "Kim Lee",
        "Mia Washton",  # the rest, by surname
    ]
    assert pages[0] == whole  # the export and segments read the same order


def test_first_names_beginning_with_the_word_come_next_by_first_name(manager, marketer):
    for first, last in [
        ("Hanna", "Ashton"),
        ("Anna", "Brook"),
        ("Kofi", "Annan"),
        ("Ann", "Young"),
    ]:
        make(manager, first, last)

    pages, whole = search(marketer, "q=ann")

    assert names(pages[0]) == ["Kofi Annan", "Ann Young", "Anna Brook", "Hanna Ashton"]
    assert pages[0] == whole


def test_small_pages_list_every_match_once_in_the_same_order(people, marketer):
    _, whole = search(marketer, "q=ashton")

    for size in (1, 2, 3, 7):
        pages, _ = search(marketer, "q=ashton", size=size)
        assert [c for page in pages for c in page] == whole
        assert all(len(page) == size for page in pages[:-1])


def test_a_page_past_the_end_is_empty(people, marketer):
    filters = CustomerFilter(QueryDict("q=ashton"), queryset=Customer.objects.all())
    assert filters.is_valid()

    page = queries.page_across(filters.best_match_groups(), number=9, size=2)

    assert page.rows == [] and not page.has_next and page.has_previous


def test_several_words_rank_a_surname_beginning_with_any_of_them_first(people, marketer):
    make(people["zoe"].owner, "Ashton", "Zoe", email="")
    pages, whole = search(marketer, "q=zoe+ashton")

    assert names(pages[0]) == ["Zoe Ashton", "Ashton Zoe"] and pages[0] == whole


def test_filters_and_ownership_narrow_the_best_matches_too(people, manager, other_manager):
    mine, _ = search(manager, "q=ashton")
    theirs, _ = search(other_manager, "q=ashton")
    by_owner, _ = search(manager, "q=ashton&owner=manager")

    assert "Ann Ashton" not in names(mine[0]) and "Zoe Ashton" in names(mine[0])
    assert names(theirs[0]) == ["Ann Ashton"]
    assert names(by_owner[0]) == names(mine[0])


def test_a_chosen_sort_still_wins_over_best_match(people, marketer):
    Customer.objects.filter(pk=people["mia"].pk).update(churn_risk=90)
    Customer.objects.filter(pk=people["zoe"].pk).update(churn_risk=50)

    pages, _ = search(marketer, "q=ashton&ordering=-churn_risk")

    assert names(pages[0])[:2] == ["Mia Washton", "Zoe Ashton"]


def test_search_words_are_literal_not_patterns(manager, marketer):
    make(manager, "Sean", "O'Brien")
    make(manager, "Pat", "Ob_rien")
    make(manager, "Lou", "Obxrien")

    percent, _ = search(marketer, "q=o%25")
    underscore, _ = search(marketer, "q=ob_")
    quote, _ = search(marketer, "q=o'b")

    assert percent == [[]]
    assert names(underscore[0]) == ["Pat Ob_rien"]
    assert names(quote[0]) == ["Sean O'Brien"]


def test_the_search_page_runs_a_fixed_number_of_queries(
    client, people, marketer, manager, django_assert_max_num_queries
):
    client.force_login(marketer)
    # session, user, roles, the form's tiers, owners and programs, account ids, the three
    # groups, the total, the user's columns
    with django_assert_max_num_queries(12) as few:
        first = client.get("/customers/", {"q": "ashton"})
    for n in range(60):
        make(manager, f"P{n}", "Ashton")

    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get("/customers/", {"q": "ashton"})
    with django_assert_max_num_queries(len(few.captured_queries) + 3):  # + the groups' counts
        second = client.get("/customers/", {"q": "ashton", "page": 2})

    assert first.content.decode().count("Ashton</a>") == 50
    assert "Mia Washton" in second.content.decode()
    assert "Best match first" in first.content.decode()


def test_sorting_by_name_ignores_case_and_follows_the_first_name(manager, marketer):
    for first, last in [("Eve", "Ellis"), ("Bo", "de Vries"), ("Al", "Dale"), ("Ada", "Dale")]:
        make(manager, first, last, email=f"{first}@example.com".lower())

    pages, _ = search(marketer, "ordering=name")
    backwards, _ = search(marketer, "ordering=-name")

    assert names(pages[0]) == ["Ada Dale", "Al Dale", "Bo de Vries", "Eve Ellis"]
    assert names(backwards[0]) == names(pages[0])[::-1]


def test_a_search_sorted_by_name_or_risk_keeps_every_match(people, marketer):
    _, best = search(marketer, "q=ashton")

    for ordering in ("name", "-churn_risk", "lifetime_value"):
        pages, whole = search(marketer, f"q=ashton&ordering={ordering}", size=3)
        assert [c for page in pages for c in page] == whole
        assert sorted(c.pk for c in whole) == sorted(c.pk for c in best)


def test_the_filter_form_keeps_the_choices_made_and_escapes_names(client, marketer, manager):
    Tier.objects.create(rank=9, name="<b>Gold</b>", slug="gold", colour="#ffd700")
    client.force_login(marketer)

    content = client.get("/customers/", {"owner": "manager", "tier": "gold"}).content.decode()

    assert '<option value="manager" selected>Alex</option>' in content  # by display name
    assert '<option value="gold" selected>&lt;b&gt;Gold&lt;/b&gt;</option>' in content
    assert '<option value="">Anyone</option>' in content


@pytest.mark.parametrize(
    "ordering", ["lifetime_value", "-lifetime_value", "churn_risk", "predicted_value_12m"]
)
def test_sorts_with_ties_page_through_everyone_once(manager, marketer, ordering):
    people = [make(manager, f"P{n}", "Tied") for n in range(7)]
    for n, customer in enumerate(people):
        Customer.objects.filter(pk=customer.pk).update(
            lifetime_value=n % 2, churn_risk=n % 3, predicted_value_12m=n % 2
        )

    pages, whole = search(marketer, f"ordering={ordering}", size=2)
    field = ordering.lstrip("-")
    values = [getattr(Customer.objects.get(pk=c.pk), field) for c in whole]

    assert [c for page in pages for c in page] == whole
    assert sorted(c.pk for c in whole) == sorted(c.pk for c in people)
    assert values == sorted(values, reverse=ordering.startswith("-"))


def test_a_phone_number_is_found_as_people_write_it(client, manager, marketer, settings):
    settings.PHONE_REGION = "US"
    make(manager, "Ann", "Lee", phone="+14155552671")
    make(manager, "Bob", "Lee", phone="+14155550100")
    client.force_login(marketer)

    written = client.get("/customers/", {"q": "(415) 555-2671"}).content.decode()
    digits = client.get("/customers/", {"q": "4155552671"}).content.decode()
    part = client.get("/customers/", {"q": "555"}).content.decode()

    assert "Ann Lee" in written and "Bob Lee" not in written
    assert "Ann Lee" in digits and "Bob Lee" not in digits
    assert "Ann Lee" in part and "Bob Lee" in part
