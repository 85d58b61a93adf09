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
from functools import lru_cache

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

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
    meaning: str
    example: str | list[str]
    kinds: frozenset[str] = frozenset()  # empty: every kind of step


VARIABLES = [
    Variable("first_name", "the customer's first name", "Ann"),
    Variable("last_name", "the customer's last name", "Lee"),
    Variable("full_name", "first and last name", "Ann Lee"),
    Variable("tier", "the name of the customer's tier", "Repeat customer"),
    Variable("owner_name", "the customer's account manager (or “our team”)", "Maria Rossi"),
    Variable("owner_email", "the account manager's e-mail address", "maria@example.com"),
    Variable("organization_name", "your organization's name", "Example Ltd"),
    Variable("organization_address", "your organization's postal address", "1 Example Street"),
    Variable(
        "unsubscribe_url", "the customer's one-click unsubscribe link", "https://example.com/u/…/"
    ),
    Variable(
        "preferences_url",
        "the customer's preference center: channels, how often, topics, what they value",
        "https://example.com/p/…/",
    ),
    Variable(
        "categories_not_bought",
        "product categories the customer has not bought (a list)",
        ["garden", "kitchen"],
    ),
    Variable(
        "survey_url",
        "the link to the satisfaction survey",
        "https://example.com/s/…/",
        frozenset({SURVEY}),
    ),
    Variable(
        "premium", "what is offered for answering the survey", "a 10% voucher", frozenset({SURVEY})
    ),
    Variable(
        "referral_code", "the customer's code to give a friend", "SAMPLE1234", frozenset({REFER})
    ),
    Variable(
        "referral_url",
        "the page where a friend signs up with the customer's code",
        "https://example.com/r/SAMPLE1234/",
        frozenset({REFER}),
    ),
    Variable(
        "event_url",
        "the customer's invitation page: answer, guests, calendar",
        "https://example.com/e/…/",
        EVENT_KINDS,
    ),
    Variable("event_name", "the event's name", "Owners' club evening", EVENT_KINDS),
    Variable(
        "event_time",
        "when the event starts, in the customer's time zone",
        "Thursday 12 March 2026, 18:30",
        EVENT_KINDS,
    ),
    Variable("event_place", "where the event is (or its online link)", "The Old Mill", EVENT_KINDS),
    Variable(
        "event_day",
        "when the event is, said from the day the message goes, in the customer's time zone: "
        "today, tomorrow, or on its date",
        "tomorrow",
        EVENT_KINDS,
    ),
]
BY_NAME = {variable.name: variable for variable in VARIABLES}
LISTS = {v.name for v in VARIABLES if isinstance(v.example, list)}
KIND_LABELS = {
    SURVEY: "Satisfaction survey",
    REFER: "Refer a friend",
    "event_invitation": "Event invitation",
    "event_reminder": "Event reminder",
    "event_seat": "Event seat freed",
    "event_cancelled": "Event cancelled",
}
# Names of the Django-syntax days, to say what to write instead.
RENAMED = {"customer": "first_name, last_name or full_name", "organization": "organization_name"}


class ContentError(PermanentError):
    """Content that cannot be rendered, with the line and the reason (a touch fails with it)."""


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
    nodes.Getattr: "attributes cannot be read (write the name alone, e.g. {{ first_name }})",
    nodes.Getitem: "items cannot be read",
    nodes.Call: "nothing can be called",
    nodes.Assign: "“set” is not available",
    nodes.AssignBlock: "“set” is not available",
    nodes.Macro: "“macro” is not available",
    nodes.CallBlock: "“call” is not available",
    nodes.Import: "“import” is not available",
    nodes.FromImport: "“import” is not available",
    nodes.Include: "“include” is not available",
    nodes.Extends: "“extends” is not available",
    nodes.Block: "“block” is not available",
    nodes.FilterBlock: "“filter” blocks are not available",
    nodes.With: "“with” is not available",
    nodes.Test: "tests (“is …”) are not available",
    nodes.Scope: "“autoescape” is not available",
    nodes.ScopedEvalContextModifier: "“autoescape” is not available",
    nodes.EvalContextModifier: "“autoescape” is not available",
    nodes.Slice: "slices are not available",
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
        "arithmetic is not available",
    ),
    **dict.fromkeys((nodes.List, nodes.Tuple, nodes.Dict), "lists cannot be written here"),
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


def _refuse(node: nodes.Node, reason: str) -> ContentError:
    where = f"Line {node.lineno}: " if node.lineno else ""
    return ContentError(f"{where}{reason}.")


def _check(node: nodes.Node, scope: frozenset[str], used: set[str], in_loop: bool) -> None:
    """Walk the parsed template; raise ContentError at the first thing not allowed."""
    for kind, reason in REFUSED.items():
        if isinstance(node, kind):
            raise _refuse(node, reason)
    if not isinstance(node, ALLOWED_NODES):
        raise _refuse(node, f"“{type(node).__name__}” is not available")
    if isinstance(node, nodes.Name):
        if node.name in scope:
            return
        if node.name not in BY_NAME:
            hint = f" (write {RENAMED[node.name]})" if node.name in RENAMED else ""
            raise _refuse(node, f"unknown name “{node.name}”{hint}")
        used.add(node.name)
        return
    if isinstance(node, nodes.Const) and not isinstance(
        node.value, str | int | float | bool | type(None)
    ):
        raise _refuse(node, "only text, numbers and true/false may be written literally")
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
        raise _refuse(node, f"unknown filter “{node.name}” (use {', '.join(FILTERS)})")
    if node.kwargs or node.dyn_args or node.dyn_kwargs:
        raise _refuse(node, f"“{node.name}” takes its arguments in order, written literally")
    if len(node.args) > FILTERS[node.name][1]:
        raise _refuse(node, f"“{node.name}” takes at most {FILTERS[node.name][1]} argument(s)")
    for argument in node.args:
        if not isinstance(argument, nodes.Const):
            raise _refuse(node, f"the argument of “{node.name}” must be written literally")
    if node.node is not None:
        _check(node.node, scope, used, in_loop)


def _check_loop(node: nodes.For, scope, used, in_loop) -> None:
    if in_loop:
        # One level only: nested loops multiply their lists' lengths.
        raise _refuse(node, "a loop cannot be put inside another loop")
    if node.recursive:
        raise _refuse(node, "recursive loops are not available")
    if not isinstance(node.target, nodes.Name):
        raise _refuse(node, "a loop takes one name: {% for category in categories_not_bought %}")
    if not (isinstance(node.iter, nodes.Name) and node.iter.name in LISTS):
        raise _refuse(node, f"a loop goes over a list: {', '.join(sorted(LISTS))}")
    used.add(node.iter.name)
    inner = scope | {node.target.name}
    if node.test is not None:
        _check(node.test, inner, used, True)
    for child in node.body:
        _check(child, inner, used, True)
    for child in node.else_:
        _check(child, scope, used, False)


def _syntax_error(error: TemplateSyntaxError) -> ContentError:
    message = error.message or "syntax error"
    if "got ':'" in message:
        message += ' (filters take their argument in parentheses: default("x"), join(", "))'
    return ContentError(f"Line {error.lineno}: {message}")


@lru_cache(maxsize=1024)
def compile_content(text: str, *, autoescape: bool) -> Compiled:
    """Parse, check and compile one piece of content (cached: a batch renders it many times)."""
    if len(text) > MAX_SOURCE:
        raise ContentError(f"Content is limited to {MAX_SOURCE:,} characters.")
    environment = ENVIRONMENTS[autoescape]
    used: set[str] = set()
    try:
        tree = environment.parse(text)
        _check(tree, frozenset(), used, False)
    except TemplateSyntaxError as error:
        raise _syntax_error(error) from None
    except RecursionError:
        raise ContentError("The content is nested too deeply.") from None
    except ContentError:
        raise
    except Exception as error:  # whatever else the parser chokes on is the content's fault
        raise ContentError(f"The content cannot be read: {error}") from None
    return Compiled(template=environment.from_string(tree), names=frozenset(used))


def missing_for(names: Iterable[str], context: dict) -> list[str]:
    """The reasons the step's kind cannot give some of these names (none when it can)."""
    reasons = []
    for name in sorted(set(names) - context.keys()):
        kinds = " or ".join(KIND_LABELS.get(kind, kind) for kind in sorted(BY_NAME[name].kinds))
        reasons.append(f"{{{{ {name} }}}} is only available in a “{kinds}” step")
    return reasons


def render(text: str, context: dict, *, autoescape: bool) -> str:
    """The content rendered over `context` (a dict of VARIABLES' values, for this step kind)."""
    if not text:
        return ""
    compiled = compile_content(text, autoescape=autoescape)
    missing = missing_for(compiled.names, context)
    if missing:
        raise ContentError("; ".join(missing) + ".")
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
        raise ContentError(f"The content does not render: {error}") from None


def _bounded(chunks: Iterable[str]) -> Iterable[str]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT:
            raise ContentError(f"The rendered content is longer than {MAX_OUTPUT:,} characters.")
        yield chunk


def sample_context(kind: str) -> dict:
    """Example values of every name a step of this kind may use (for checking on save)."""
    return {v.name: v.example for v in VARIABLES if not v.kinds or kind in v.kinds}
