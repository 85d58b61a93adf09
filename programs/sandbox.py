"""The language marketers write step content in: a small subset of Jinja2, checked and run in
Jinja2's immutable sandbox over a plain dict of documented values (no model, no callable).

Allowed: `{{ name }}` and `{{ name|filter }}` for the names in VARIABLES, the filters in
FILTERS (arguments written literally), `{% if %}` / `{% elif %}` / `{% else %}` with `and`,
`or`, `not`, comparisons and literals, and one level of `{% for x in list %}` over a list
value. Everything else (attributes, items, calls, `set`, `macro`, `include`, `debug`, ...) is
refused with its line and the reason before anything runs.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.utils.translation import gettext_noop
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from customers.sayings import (
    English,
    amount,
    english,
    kept_as_text,
    ngettext_noop,
    quoted,
    translated,
)
from programs.channels import PermanentError

# Longer content is refused; longer output stops rendering (a loop over a long list).
MAX_SOURCE = 20_000
MAX_OUTPUT = 50_000

SURVEY = "satisfaction_survey"
REFER = "refer_friend"
EVENT_KINDS = frozenset({"event_invitation", "event_reminder", "event_seat", "event_cancelled"})


@dataclass(frozen=True)
class Variable:
    """One name content may use, with what it holds and an example value."""

    name: str
    meaning: str  # marked with gettext_noop, said in the marketer's language by the editor
    example: str | list[str]
    kinds: frozenset[str] = frozenset()  # empty: every kind of step


VARIABLES = [
    Variable("first_name", gettext_noop("the customer's first name"), "Ann"),
    Variable("last_name", gettext_noop("the customer's last name"), "Lee"),
    Variable("full_name", gettext_noop("first and last name"), "Ann Lee"),
    Variable("tier", gettext_noop("the name of the customer's tier"), "Repeat customer"),
    Variable(
        "owner_name", gettext_noop("the customer's account manager (or “our team”)"), "Maria Rossi"
    ),
    Variable(
        "owner_email", gettext_noop("the account manager's e-mail address"), "maria@example.com"
    ),
    Variable("organization_name", gettext_noop("your organization's name"), "Example Ltd"),
    Variable(
        "organization_address",
        gettext_noop("your organization's postal address"),
        "1 Example Street",
    ),
    Variable(
        "unsubscribe_url",
        gettext_noop("the customer's one-click unsubscribe link"),
        "https://example.com/u/…/",
    ),
    Variable(
        "preferences_url",
        gettext_noop(
            "the customer's preference center: channels, how often, topics, what they value"
        ),
        "https://example.com/p/…/",
    ),
    Variable(
        "categories_not_bought",
        gettext_noop("product categories the customer has not bought (a list)"),
        ["garden", "kitchen"],
    ),
    Variable(
        "survey_url",
        gettext_noop("the link to the satisfaction survey"),
        "https://example.com/s/…/",
        frozenset({SURVEY}),
    ),
    Variable(
        "premium",
        gettext_noop("what is offered for answering the survey"),
        "a 10% voucher",
        frozenset({SURVEY}),
    ),
    Variable(
        "referral_code",
        gettext_noop("the customer's code to give a friend"),
        "SAMPLE1234",
        frozenset({REFER}),
    ),
    Variable(
        "referral_url",
        gettext_noop("the page where a friend signs up with the customer's code"),
        "https://example.com/r/SAMPLE1234/",
        frozenset({REFER}),
    ),
    Variable(
        "event_url",
        gettext_noop("the customer's invitation page: answer, guests, calendar"),
        "https://example.com/e/…/",
        EVENT_KINDS,
    ),
    Variable("event_name", gettext_noop("the event's name"), "Owners' club evening", EVENT_KINDS),
    Variable(
        "event_time",
        gettext_noop("when the event starts, in the customer's time zone"),
        "Thursday 12 March 2026, 18:30",
        EVENT_KINDS,
    ),
    Variable(
        "event_place",
        gettext_noop("where the event is (or its online link)"),
        "The Old Mill",
        EVENT_KINDS,
    ),
    Variable(
        "event_day",
        gettext_noop(
            "when the event is, said from the day the message goes, in the customer's time zone: "
            "today, tomorrow, or on its date"
        ),
        "tomorrow",
        EVENT_KINDS,
    ),
]
BY_NAME = {variable.name: variable for variable in VARIABLES}
LISTS = {v.name for v in VARIABLES if isinstance(v.example, list)}
# Why content may not use a name its step's kind cannot give, by the kinds that give it: one
# whole sentence each, the kinds named inside it, so each language says it in its own order.
ONLY_IN = {
    frozenset({SURVEY}): kept_as_text(
        gettext_noop("{{ %(name)s }} is only available in a “Satisfaction survey” step.")
    ),
    frozenset({REFER}): kept_as_text(
        gettext_noop("{{ %(name)s }} is only available in a “Refer a friend” step.")
    ),
    EVENT_KINDS: kept_as_text(
        gettext_noop(
            "{{ %(name)s }} is only available in an event's steps (invitation, reminder, "
            "seat freed, cancellation)."
        )
    ),
}
NOT_IN_THIS_KIND = kept_as_text(
    gettext_noop("{{ %(name)s }} is not available in this kind of step.")
)
NAMES_NOT_IN_THIS_KIND = kept_as_text(
    gettext_noop("These names are not available in this kind of step: %(names)s.")
)
# The names of the Django-syntax days, and what to write instead.
RENAMED = {
    "customer": gettext_noop("unknown name “customer” (write first_name, last_name or full_name)."),
    "organization": gettext_noop("unknown name “organization” (write organization_name)."),
}

# What a refusal says: in English where it is made (a failed touch stores it), said again in
# the reader's language by ContentError.said(). Jinja2's own words are the library's: they come
# inside a frame of ours, as they are.
LINE = kept_as_text(gettext_noop("Line %(line)s: %(reason)s"), texts=["reason"])
LINE_FILTER_SYNTAX = kept_as_text(
    gettext_noop(
        "Line %(line)s: %(reason)s (filters take their argument in parentheses: "
        'default("x"), join(", "))'
    ),
    texts=["reason"],
)
SYNTAX_ERROR = gettext_noop("syntax error")
SOURCE_TOO_LONG = kept_as_text(gettext_noop("Content is limited to %(limit)s characters."))
NESTED_TOO_DEEPLY = gettext_noop("The content is nested too deeply.")
UNREADABLE = kept_as_text(gettext_noop("The content cannot be read: %(error)s"))
DOES_NOT_RENDER = kept_as_text(gettext_noop("The content does not render: %(error)s"))
OUTPUT_TOO_LONG = kept_as_text(
    gettext_noop("The rendered content is longer than %(limit)s characters.")
)
UNKNOWN_NAME = kept_as_text(gettext_noop("unknown name “%(name)s”."))
NOT_AVAILABLE = kept_as_text(gettext_noop("“%(name)s” is not available."))
ONLY_LITERALS = gettext_noop("only text, numbers and true/false may be written literally.")
UNKNOWN_FILTER = kept_as_text(gettext_noop("unknown filter “%(name)s” (use %(filters)s)."))
ARGUMENTS_IN_ORDER = kept_as_text(
    gettext_noop("“%(name)s” takes its arguments in order, written literally.")
)
TOO_MANY_ARGUMENTS = kept_as_text(
    ngettext_noop(
        "“%(name)s” takes at most %(count)s argument.",
        "“%(name)s” takes at most %(count)s arguments.",
    )
)
LITERAL_ARGUMENT = kept_as_text(
    gettext_noop("the argument of “%(name)s” must be written literally.")
)
LOOP_IN_LOOP = gettext_noop("a loop cannot be put inside another loop.")
RECURSIVE_LOOP = gettext_noop("recursive loops are not available.")
LOOP_NAME = kept_as_text(gettext_noop("a loop takes one name: %(example)s."))
LOOP_OVER_LIST = kept_as_text(gettext_noop("a loop goes over a list: %(lists)s."))


class ContentError(PermanentError):
    """Content that cannot be rendered, with the line and the reason (a touch fails with it).

    Its text is English, which a failed touch stores (and sayings.translated() says again);
    said() gives each reason in the active language, for the marketer writing the step.
    """

    def __init__(self, *reasons: str, stored: str = "") -> None:
        super().__init__(stored or " ".join(reasons))
        self.reasons = reasons

    def said(self) -> list[str]:
        """Each reason in the active language (the reader's, not the customer's)."""
        return [translated(reason) for reason in self.reasons]


def _default(value, fallback="", *_):
    # As Django's `default`: any empty value (an empty name, an empty list) takes the fallback.
    return value or fallback


def _join(value, separator=""):
    return separator.join(str(item) for item in value) if isinstance(value, list) else value


# name -> (filter, most literal arguments it takes)
FILTERS = {
    "default": (_default, 1),
    "upper": (str.upper, 0),
    "lower": (str.lower, 0),
    "title": (str.title, 0),
    "capitalize": (str.capitalize, 0),
    "trim": (str.strip, 0),
    "join": (None, 1),  # Jinja2's own: it escapes the items in the HTML part
    "length": (len, 0),
}
ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.Filter,
    nodes.If,
    nodes.For,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Compare,
    nodes.Operand,
    nodes.CondExpr,
    nodes.Concat,
)
REFUSED = {
    nodes.Getattr: gettext_noop(
        "attributes cannot be read (write the name alone, e.g. {{ first_name }})."
    ),
    nodes.Getitem: gettext_noop("items cannot be read."),
    nodes.Call: gettext_noop("nothing can be called."),
    nodes.Assign: gettext_noop("“set” is not available."),
    nodes.AssignBlock: gettext_noop("“set” is not available."),
    nodes.Macro: gettext_noop("“macro” is not available."),
    nodes.CallBlock: gettext_noop("“call” is not available."),
    nodes.Import: gettext_noop("“import” is not available."),
    nodes.FromImport: gettext_noop("“import” is not available."),
    nodes.Include: gettext_noop("“include” is not available."),
    nodes.Extends: gettext_noop("“extends” is not available."),
    nodes.Block: gettext_noop("“block” is not available."),
    nodes.FilterBlock: gettext_noop("“filter” blocks are not available."),
    nodes.With: gettext_noop("“with” is not available."),
    nodes.Test: gettext_noop("tests (“is …”) are not available."),
    nodes.Scope: gettext_noop("“autoescape” is not available."),
    nodes.ScopedEvalContextModifier: gettext_noop("“autoescape” is not available."),
    nodes.EvalContextModifier: gettext_noop("“autoescape” is not available."),
    nodes.Slice: gettext_noop("slices are not available."),
    **dict.fromkeys(
        (
            nodes.Add,
            nodes.Sub,
            nodes.Mul,
            nodes.Div,
            nodes.FloorDiv,
            nodes.Mod,
            nodes.Pow,
            nodes.Neg,
            nodes.Pos,
        ),
        gettext_noop("arithmetic is not available."),
    ),
    **dict.fromkeys(
        (nodes.List, nodes.Tuple, nodes.Dict), gettext_noop("lists cannot be written here.")
    ),
}


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        autoescape=autoescape,
        undefined=StrictUndefined,
        keep_trailing_newline=True,  # as Django's engine did: a body ends as it was written
    )
    join = environment.filters["join"]
    environment.filters = {
        name: (function if function is not None else join)
        for name, (function, _) in FILTERS.items()
    }
    environment.tests = {}
    environment.globals = {}  # no range, cycler, lipsum, namespace, dict
    return environment


ENVIRONMENTS = {True: _environment(True), False: _environment(False)}


@dataclass(frozen=True)
class Compiled:
    """A checked template and the names it reads."""

    template: Template
    names: frozenset[str]


def _quoted(reason: English) -> dict | str:
    # A reason inside a frame, said again in the reader's language with the frame.
    return quoted(key=reason.key, args=reason.args, text=str(reason))


def _refuse(node: nodes.Node, reason: str, **args) -> ContentError:
    """A refusal of this node, on its line: `reason` a message id, `args` its parameters."""
    said = english(reason, **args)
    if not node.lineno:
        return ContentError(said)
    return ContentError(english(LINE, line=node.lineno, reason=_quoted(said)))


def _check(node: nodes.Node, scope: frozenset[str], used: set[str], in_loop: bool) -> None:
    """Walk the parsed template; raise ContentError at the first thing not allowed."""
    for kind, reason in REFUSED.items():
        if isinstance(node, kind):
            raise _refuse(node, reason)
    if not isinstance(node, ALLOWED_NODES):
        raise _refuse(node, NOT_AVAILABLE, name=type(node).__name__)
    if isinstance(node, nodes.Name):
        if node.name in scope:
            return
        if node.name in RENAMED:
            raise _refuse(node, RENAMED[node.name])
        if node.name not in BY_NAME:
            raise _refuse(node, UNKNOWN_NAME, name=node.name)
        used.add(node.name)
        return
    if isinstance(node, nodes.Const) and not isinstance(
        node.value, str | int | float | bool | type(None)
    ):
        raise _refuse(node, ONLY_LITERALS)
    if isinstance(node, nodes.Filter):
        _check_filter(node, scope, used, in_loop)
        return
    if isinstance(node, nodes.For):
        _check_loop(node, scope, used, in_loop)
        return
    for child in node.iter_child_nodes():
        _check(child, scope, used, in_loop)


def _check_filter(node: nodes.Filter, scope, used, in_loop) -> None:
    if node.name not in FILTERS:
        raise _refuse(node, UNKNOWN_FILTER, name=node.name, filters=", ".join(FILTERS))
    if node.kwargs or node.dyn_args or node.dyn_kwargs:
        raise _refuse(node, ARGUMENTS_IN_ORDER, name=node.name)
    if len(node.args) > FILTERS[node.name][1]:
        raise _refuse(node, TOO_MANY_ARGUMENTS, name=node.name, count=FILTERS[node.name][1])
    for argument in node.args:
        if not isinstance(argument, nodes.Const):
            raise _refuse(node, LITERAL_ARGUMENT, name=node.name)
    if node.node is not None:
        _check(node.node, scope, used, in_loop)


def _check_loop(node: nodes.For, scope, used, in_loop) -> None:
    if in_loop:
        # One level only: nested loops multiply their lists' lengths.
        raise _refuse(node, LOOP_IN_LOOP)
    if node.recursive:
        raise _refuse(node, RECURSIVE_LOOP)
    if not isinstance(node.target, nodes.Name):
        raise _refuse(node, LOOP_NAME, example="{% for category in categories_not_bought %}")
    if not (isinstance(node.iter, nodes.Name) and node.iter.name in LISTS):
        raise _refuse(node, LOOP_OVER_LIST, lists=", ".join(sorted(LISTS)))
    used.add(node.iter.name)
    inner = scope | {node.target.name}
    if node.test is not None:
        _check(node.test, inner, used, True)
    for child in node.body:
        _check(child, inner, used, True)
    for child in node.else_:
        _check(child, scope, used, False)


def _syntax_error(error: TemplateSyntaxError) -> ContentError:
    # Jinja2's message is the library's own words: kept as they come, in our frame.
    reason = error.message or _quoted(english(SYNTAX_ERROR))
    frame = LINE_FILTER_SYNTAX if "got ':'" in (error.message or "") else LINE
    return ContentError(english(frame, line=error.lineno, reason=reason))


def _characters(limit: int) -> dict[str, str]:
    # A limit is written with the reader's thousands separator.
    return amount(Decimal(limit), places=0)


@lru_cache(maxsize=1024)
def compile_content(text: str, *, autoescape: bool) -> Compiled:
    """Parse, check and compile one piece of content (cached: a batch renders it many times)."""
    if len(text) > MAX_SOURCE:
        raise ContentError(english(SOURCE_TOO_LONG, limit=_characters(MAX_SOURCE)))
    environment = ENVIRONMENTS[autoescape]
    used: set[str] = set()
    try:
        tree = environment.parse(text)
        _check(tree, frozenset(), used, False)
    except TemplateSyntaxError as error:
        raise _syntax_error(error) from None
    except RecursionError:
        raise ContentError(english(NESTED_TOO_DEEPLY)) from None
    except ContentError:
        raise
    except Exception as error:  # whatever else the parser chokes on is the content's fault
        raise ContentError(english(UNREADABLE, error=error)) from None
    return Compiled(template=environment.from_string(tree), names=frozenset(used))


def missing_for(names: Iterable[str], context: dict) -> list[English]:
    """The reasons the step's kind cannot give some of these names (none when it can), one
    sentence each."""
    return [
        english(ONLY_IN.get(BY_NAME[name].kinds, NOT_IN_THIS_KIND), name=name)
        for name in sorted(set(names) - context.keys())
    ]


def render(text: str, context: dict, *, autoescape: bool) -> str:
    """The content rendered over `context` (a dict of VARIABLES' values, for this step kind)."""
    if not text:
        return ""
    compiled = compile_content(text, autoescape=autoescape)
    missing = missing_for(compiled.names, context)
    if len(missing) == 1:
        raise ContentError(*missing)
    if missing:
        # A touch stores one sentence, which reads back whole in the reader's language.
        names = ", ".join(
            f"{{{{ {name} }}}}" for name in sorted(set(compiled.names) - set(context))
        )
        raise ContentError(*missing, stored=english(NAMES_NOT_IN_THIS_KIND, names=names))
    try:
        return "".join(_bounded(compiled.template.generate(context)))
    except ContentError:
        raise
    except (
        SecurityError,
        UndefinedError,
        ArithmeticError,
        LookupError,
        TypeError,
        ValueError,
        RecursionError,
    ) as error:
        raise ContentError(english(DOES_NOT_RENDER, error=error)) from None


def _bounded(chunks: Iterable[str]) -> Iterable[str]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT:
            raise ContentError(english(OUTPUT_TOO_LONG, limit=_characters(MAX_OUTPUT)))
        yield chunk


def sample_context(kind: str) -> dict:
    """Example values of every name a step of this kind may use (for checking on save)."""
    return {v.name: v.example for v in VARIABLES if not v.kinds or kind in v.kinds}
