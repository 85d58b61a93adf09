"""Data seeded once for the tests of a module (or class) that only read it.

Seeding the demo takes seconds; seeding it again for each test that reads it was most of those
modules' time. `kept_for_scope()` opens a transaction around the module's tests: each test's
own transaction (pytest-django's `db`) is a savepoint inside it, so what a test writes is undone
as usual, and the seeded rows are rolled back after the module's (or class's) last test.

Use it in a module- or class-scoped fixture. Every test of the module that touches the database
should request that fixture (a test that does not sees the seeded rows all the same once it is
set up, which is why the ones that need an empty database come first, or the sharing tests sit
in a class of their own), and none may be transactional (a flush inside the open transaction
would undo it).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import transaction

T = TypeVar("T")


@contextmanager
def kept_for_scope(django_db_blocker, seed: Callable[[], T]) -> Iterator[T]:
    """Run `seed` in a transaction left open until the context ends, then rolled back."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            seeded = seed()
        except BaseException as error:
            outer.__exit__(type(error), error, error.__traceback__)
            raise
    try:
        yield seeded
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
