"""Every edit form saves an existing record: the form as the page renders it, one name changed.

Posting back what the page shows is what a person does; it once failed for every account
("Account with this ID already exists") because the save validated a copy as a new row.
"""

import re
from html.parser import HTMLParser

import pytest

from customers.models import Account, Customer, Tier
from nps.models import Survey
from programs.models import Program, Step
from tests.factories import AccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db


class FormReader(HTMLParser):
    """The fields of each POST form on a page, with the values the page shows."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._chosen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = {"fields": {}, "submits": []}
            self.forms.append(self._form)
        if tag == "option" and self._form is not None and self._select:
            # A browser sends the selected option, or the first when none is.
            first = self._select not in self._chosen
            if "selected" in a or first:
                self._form["fields"][self._select] = a.get("value", "")
                self._chosen.add(self._select)
            return
        if self._form is None or "name" not in a:
            return
        name = a["name"]
        if tag == "input" and a.get("type") in ("checkbox", "radio"):
            if "checked" in a:
                self._form["fields"][name] = a.get("value", "on")
        elif tag == "input" and a.get("type") == "submit" or tag == "button":
            self._form["submits"].append((name, a.get("value", "")))
        elif tag == "input":
            self._form["fields"][name] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self._form["fields"][name] = ""
        elif tag == "select":
            self._select = name
            self._chosen.discard(name)
            self._form["fields"].setdefault(name, "")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def rendered_form(client, url: str, *, with_field: str) -> dict:
    """The values of the page's first POST form that has a field named `with_field`."""
    reader = FormReader()
    reader.feed(client.get(url).content.decode())
    for form in reader.forms:
        if with_field in form["fields"]:
            return form
    raise AssertionError(f"no form with {with_field} on {url}")


def errors_on(response) -> list[str]:
    """The error messages a form page shows."""
    return re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)


def edit_pages(manager):
    """(URL, the name field, how to read the saved name back) for each edit form."""
    customer = CustomerFactory(owner=manager, first_name="Ann", consent_email=True)
    account = AccountFactory(website="https://example.com")
    survey = Survey.objects.order_by("id").first()
    program = Program.objects.order_by("id").first()
    step = program.steps.order_by("order").first()
    tier = Tier.objects.order_by("rank").first()
    return [
        (
            f"/customers/{customer.pk}/edit/",
            "first_name",
            lambda: Customer.objects.get(pk=customer.pk).first_name,
        ),
        (
            f"/customers/accounts/{account.pk}/edit/",
            "name",
            lambda: Account.objects.get(pk=account.pk).name,
        ),
        (f"/surveys/{survey.pk}/", "name", lambda: Survey.objects.get(pk=survey.pk).name),
        (f"/programs/{program.pk}/", "name", lambda: Program.objects.get(pk=program.pk).name),
        (
            f"/programs/{program.pk}/steps/{step.pk}/",
            "name",
            lambda: Step.objects.get(pk=step.pk).name,
        ),
        ("/customers/ladder/", f"t{tier.pk}-name", lambda: Tier.objects.get(pk=tier.pk).name),
    ]


@pytest.mark.parametrize("role", ["marketer", "admin_user"])
def test_every_edit_form_saves_an_existing_record(client, manager, role, request):
    client.force_login(request.getfixturevalue(role))
    for url, name_field, saved_name in edit_pages(manager):
        form = rendered_form(client, url, with_field=name_field)
        data = {**form["fields"], name_field: "Renamed"}
        for submit, value in form["submits"]:
            if submit == "action" and value != "save":
                continue
            data.setdefault(submit, value)

        response = client.post(url, data)

        assert response.status_code == 302, (url, errors_on(response))
        assert saved_name() == "Renamed", url


def test_an_account_manager_saves_their_customer_and_an_account(client, manager):
    client.force_login(manager)
    for url, name_field, saved_name in edit_pages(manager)[:2]:
        form = rendered_form(client, url, with_field=name_field)

        response = client.post(url, {**form["fields"], name_field: "Renamed"})

        assert response.status_code == 302, (url, errors_on(response))
        assert saved_name() == "Renamed"
