"""No English is left in templates outside {% translate %} / {% blocktranslate %}.

`makemessages` only finds marked strings, so its "nothing new" test cannot see a literal word
typed straight into a template. This test reads every template with Django's own Lexer, blanks
out tags, variables, comments and translate blocks, and parses what is left as HTML: any word
of two letters or more in the text, or in an attribute a person reads, fails with its template
and line.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.template.loader import render_to_string
from django.utils import translation

# Real non-words a reader sees the same in every language. Keep it short; each says why.
ALLOWED = {
    "Bonding",  # the product's name
    "NPS",  # Net Promoter Score: the metric's name is kept in German and Spanish too
    "CSV",  # a file format's name
    "API",  # a protocol term, shown as is in every language
    "ms",  # SI unit of milliseconds
}

# Attributes whose value a person reads (or a screen reader speaks).
READ_ATTRIBUTES = {"title", "aria-label", "aria-description", "placeholder", "alt", "label"}
# value= is read only on <input> buttons; a <button>'s value is data sent back, its text is read.
BUTTON_INPUT_TYPES = {"submit", "button", "reset"}
# Not prose: script and style are code; <code>/<kbd>/<samp> show literally what is typed or sent
# (a header, template syntax), the same in every language.
SKIPPED_ELEMENTS = {"script", "style", "code", "kbd", "samp"}

WORD = re.compile(r"[^\W\d_]{2,}")
# Filters whose literal argument is shown to the reader; `_("…")` marks it, a bare literal is not.
SHOWN_LITERAL = re.compile(r"""\|(?:default|default_if_none|yesno):(?:"([^"]*)"|'([^']*)')""")
TRANSLATE_OPEN = {"blocktranslate", "blocktrans"}
TRANSLATE_CLOSE = {"endblocktranslate", "endblocktrans"}


def template_files() -> list[Path]:
    roots = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    base = Path(settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        folder = Path(config.path) / "templates"
        # only the project's own apps: Django's and third parties' templates are theirs
        if folder.is_dir() and base in folder.resolve().parents and ".venv" not in folder.parts:
            roots.append(folder)
    files = {p for root in roots for p in root.rglob("*") if p.suffix in {".html", ".txt"}}
    return sorted(files)


def blank(text: str) -> str:
    """What stays put: the same number of lines, so line numbers still point right."""
    return " " + "\n" * text.count("\n") + " "


def untranslated_source(source: str) -> str:
    """The template with every tag, variable, comment and translate block blanked."""
    out = []
    depth = 0  # inside {% blocktranslate %} … {% endblocktranslate %}
    in_comment = False  # inside {% comment %} … {% endcomment %}
    for token in Lexer(source).tokenize():
        raw = token.contents
        if token.token_type == TokenType.BLOCK:
            name = raw.split()[0] if raw.split() else ""
            if name in TRANSLATE_OPEN:
                depth += 1
            elif name in TRANSLATE_CLOSE:
                depth -= 1
            elif name == "comment":
                in_comment = True
            elif name == "endcomment":
                in_comment = False
        if token.token_type == TokenType.TEXT and not depth and not in_comment:
            out.append(raw)
        else:
            out.append(blank(raw))
    return "".join(out)


class ReadableText(HTMLParser):
    """Collects (line, word) for words in text and read attributes; skips code and styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.words: list[tuple[int, str]] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_ELEMENTS:
            self.skipping += 1
        values = dict(attrs)
        for name, value in attrs:
            readable = name in READ_ATTRIBUTES or (
                name == "value"
                and tag == "input"
                and (values.get("type") or "") in BUTTON_INPUT_TYPES
            )
            if readable and value:
                self.collect(value)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in SKIPPED_ELEMENTS:
            self.skipping -= 1

    def handle_endtag(self, tag):
        if tag in SKIPPED_ELEMENTS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.collect(data)

    def collect(self, text):
        line = self.getpos()[0]
        for offset, chunk in enumerate(text.split("\n")):
            for word in WORD.findall(chunk):
                if word not in ALLOWED:
                    self.words.append((line + offset, word))


def literal_words(source: str) -> list[tuple[int, str]]:
    """Words in a literal a filter shows, e.g. {{ x|default:"none" }}, outside _()."""
    words = []
    for token in Lexer(source).tokenize():
        if token.token_type in (TokenType.VAR, TokenType.BLOCK):
            for match in SHOWN_LITERAL.finditer(token.contents):
                text = match.group(1) if match.group(1) is not None else match.group(2)
                if text.startswith("/"):  # a path to fall back on, not text
                    continue
                words += [(token.lineno, w) for w in WORD.findall(text) if w not in ALLOWED]
    return words


def english_words(source: str, plain: bool) -> list[tuple[int, str]]:
    return sorted(_text_words(source, plain) + literal_words(source))


def _text_words(source: str, plain: bool) -> list[tuple[int, str]]:
    text = untranslated_source(source)
    if plain:  # a .txt template (e-mail, SMS) is text, not HTML
        words = []
        for number, line in enumerate(text.split("\n"), start=1):
            words += [(number, w) for w in WORD.findall(line) if w not in ALLOWED]
        return words
    parser = ReadableText()
    parser.feed(text)
    parser.close()
    return parser.words


def test_templates_are_found():
    names = {p.name for p in template_files()}
    assert "base.html" in names
    assert "touch_footer.txt" in names  # customers' e-mails are checked too


@pytest.mark.parametrize(
    "path", template_files(), ids=lambda p: str(p.relative_to(settings.BASE_DIR))
)
def test_no_english_outside_translate(path):
    words = english_words(path.read_text(encoding="utf-8"), plain=path.suffix == ".txt")
    where = str(path.relative_to(settings.BASE_DIR))
    assert [f"{where}:{line}: {word}" for line, word in words] == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>Hello {{ name }}</p>", [(1, "Hello")]),
        ("<p>{% translate 'Hello' %} {{ name }}</p>", []),
        ("{% blocktranslate %}Hi {{ n }}{% endblocktranslate %}\n<b>Left</b>", [(2, "Left")]),
        ("{# a note #}<script>let x = 'word';</script><style>.a{color:red}</style>", []),
        ("<!-- an HTML comment --><p>&nbsp;&mdash; 12 · …</p>", []),
        ('<a class="big" href="/x" title="Open it">{{ x }}</a>', [(1, "Open"), (1, "it")]),
        ('<input type="submit" value="Save"><input name="q" value="abc">', [(1, "Save")]),
        ('<button name="action" value="save">{% translate "Save" %}</button>', []),
        ("<p><code>Authorization: Token</code></p>", []),
        ('<input placeholder="{% translate "Search" %}">', []),
        ("{% comment %}\nold words\n{% endcomment %}\n<p>\nNew</p>", [(5, "New")]),
        ("<p>{{ elapsed }} ms · NPS · CSV</p>", []),
        (
            '<p>{{ x|default:"nobody" }} {{ y|default:_("nobody") }} {{ z|date:"Y-m-d" }}</p>',
            [(1, "nobody")],
        ),
        ("<p>\n{{ ok|yesno:'yes,no' }}</p>", [(2, "no"), (2, "yes")]),
    ],
)
def test_the_reader_finds_untranslated_words(source, expected):
    assert english_words(source, plain=False) == expected


def test_plain_text_templates_are_read_as_text():
    source = "{% load i18n %}{% translate 'Hi' %}\nUnsubscribe: {{ url }}\n"
    assert english_words(source, plain=True) == [(2, "Unsubscribe")]


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "inconclusive"), ("de", "unklar"), ("es", "no concluyente")]
)
def test_a_state_word_is_shown_in_the_readers_language(language, expected):
    # Enum values are not printed raw: the lift state goes through its translated label.
    with translation.override(language):
        shown = render_to_string("programs/_lift_state.html", {"state": "inconclusive"})
    assert shown.strip() == expected
