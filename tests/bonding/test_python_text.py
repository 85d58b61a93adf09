"""The Python side's flash messages are marked for translation, and a German user reads them in
German.

Every `messages.<level>(request, X)` in the apps' code must not pass a bare str literal or
f-string (nor `"..." % ...` on one) as X: wrap the text in gettext/ngettext with %(name)s
placeholders. Nor may a gettext call hold an f-string (its msgid would change with each value).
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
"""
    assert [line for line, _why in untranslated(ast.parse(code))] == [2, 3, 4, 5]


def test_every_flash_message_in_the_apps_is_marked_for_translation():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {why}"
        for path in sources()
        for line, why in untranslated(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert sources() and not found, "\n".join(found)


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
