"""The Python side's flash messages and errors are marked for translation, and a German user
reads them in German.

In the apps' code no bare str literal or f-string (nor `"..." % ...` on one) may be
- X in `messages.<level>(request, X)`;
- the first argument of ValidationError, PermissionDenied, NotFound, ParseError, Http404,
  AuthenticationFailed or a step content's ContentError (said in English with
  sayings.english(), read in the reader's language), nor a value of the dict (or an item of
  the list) given there;
- the message of `form.add_error(field, X)` or of a batch row's `row.fail(field, X)`.
Wrap the text in gettext/ngettext with %(name)s placeholders. Nor may a gettext call hold an
f-string (its msgid would change with each value).
"""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.messages import get_messages

from bonding.staff_language import set_language

ROOT = Path(settings.BASE_DIR)
APPS = ("bonding", "customers", "programs", "nps", "events", "webhooks")
LEVELS = {"debug", "info", "success", "warning", "error"}
ERRORS = {
    "ValidationError",
    "PermissionDenied",
    "NotFound",
    "ParseError",
    "Http404",
    "AuthenticationFailed",
    "ContentError",
}
# Calls whose second argument is a message: a form's add_error(field, X), a row's fail(field, X).
FIELD_MESSAGES = {"add_error", "fail"}
GETTEXTS = {"gettext", "ngettext", "pgettext", "npgettext", "_", "gettext_lazy", "ngettext_lazy"}


def sources() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.relative_to(ROOT).parts and "migrations" not in path.parts
    ]


def is_bare_text(node: ast.expr) -> bool:
    """A str literal, an f-string, or either formatted with % or concatenated with +."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return is_bare_text(node.left) or (
            isinstance(node.op, ast.Add) and is_bare_text(node.right)
        )
    return False


def holds_bare_text(node: ast.expr) -> bool:
    """A bare text, or a dict of errors / list of messages with one among its values."""
    if isinstance(node, ast.Dict):
        return any(holds_bare_text(value) for value in node.values)
    if isinstance(node, ast.List | ast.Tuple):
        return any(holds_bare_text(item) for item in node.elts)
    return is_bare_text(node)


def message_arguments(call: ast.Call) -> list[ast.expr]:
    """What an error or a field's message is made of, when `call` makes one."""
    name = called_name(call)
    keywords = [k.value for k in call.keywords if k.arg in ("message", "detail", "error")]
    if name in ERRORS:
        return call.args[:1] + keywords
    if name in FIELD_MESSAGES:
        return call.args[1:2] + keywords
    return []


def called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def untranslated(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in LEVELS
            and isinstance(func.value, ast.Name)
            and func.value.id == "messages"
            and len(node.args) >= 2
            and is_bare_text(node.args[1])
        ):
            found.append((node.lineno, f"messages.{func.attr} with an unmarked text"))
        if any(holds_bare_text(arg) for arg in message_arguments(node)):
            found.append((node.lineno, f"{called_name(node)} with an unmarked text"))
        if called_name(node) in GETTEXTS and any(
            isinstance(arg, ast.JoinedStr) for arg in node.args
        ):
            found.append((node.lineno, "an f-string inside a gettext call"))
    return found


def test_the_check_sees_what_it_should():
    code = """
messages.success(request, "Saved.")
messages.error(request, f"No {x}.")
messages.info(request, "%s done" % n)
messages.warning(request, gettext(f"Bad {x}."))
messages.success(request, gettext("Fine."))
messages.success(request, gettext("%(n)s fine.") % {"n": n})
messages.error(request, " ".join(error.messages))
messages.success(request, text)
raise ValidationError("Bad.")
raise forms.ValidationError(f"Only {n} left.")
raise ValidationError({"name": "Give it a name."})
raise serializers.ValidationError({"since": ["Out of range."]})
raise exceptions.PermissionDenied("Only marketers.")
raise PermissionDenied(detail="Only " + who)
raise exceptions.NotFound("Invalid cursor.")
raise exceptions.ParseError(f"Nested deeper than {depth}.")
raise Http404("No such token.")
self.add_error("ends_on", "It ends before it starts.")
form.add_error(None, "%s is wrong" % what)
row.fail("email", "Must be a string.")
rows[index].fail(key, f"No user “{name}”.")
raise exceptions.AuthenticationFailed("Invalid or revoked token.")
raise ContentError(f"Line {line}: {reason}.")
raise ValidationError(gettext("Fine."))
raise ValidationError({"name": [gettext("Give it a name.")]})
raise ValidationError(ngettext("%(n)s touch.", "%(n)s touches.", n) % {"n": n})
raise ValidationError(problems)
raise ValidationError({"phone": error.messages})
raise exceptions.PermissionDenied(refusal)
self.add_error("ends_on", gettext("It ends before it starts."))
form.add_error("file", error)
row.fail("non_field_errors", gettext("Each customer must be a JSON object."))
row.fail(name, at_most_characters(limit))
raise ValueError("An internal error nobody shows.")
logger.error("Logged, in English.")
raise ContentError(english(LINE, line=line, reason=reason))
raise ContentError(*missing)
"""
    caught = sorted(line for line, _why in untranslated(ast.parse(code)))
    assert caught == [2, 3, 4, 5, *range(10, 25)]


def test_every_flash_message_and_error_in_the_apps_is_marked_for_translation():
    found = {
        str(path.relative_to(ROOT)): [
            f"{path.relative_to(ROOT)}:{line}: {why}"
            for line, why in untranslated(ast.parse(path.read_text(encoding="utf-8")))
        ]
        for path in sources()
    }
    unmarked = [text for texts in found.values() for text in texts]
    assert found and not unmarked, "\n".join(unmarked)


@pytest.mark.django_db
def test_a_german_user_reads_the_flash_message_in_german(client, marketer):
    set_language(user=marketer, language="de")
    client.force_login(marketer)  # sign-in copies the choice into the session
    post = {"event": "referral_converted", "value": "20", "unit": "points", "active": "on"}
    response = client.post("/customers/reward-rules/", post)
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Prämienregel angelegt."]
    # The next page shows it, in German too.
    page = client.get(response["Location"]).content.decode()
    assert "Prämienregel angelegt." in page
