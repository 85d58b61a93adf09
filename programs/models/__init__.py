"""Relationship programs: their steps, who is enrolled, and every touch (the outbox).

The models live in modules by concern; Django and `programs.models.X` find them all here.
"""

from programs.models.lift import LiftTally
from programs.models.program import Enrollment, Program, SegmentFollow, Step, StepVariant
from programs.models.provider import ProviderEvent, UnmatchedReply
from programs.models.touch import (
    SENT_STATES,
    LetterBatch,
    PromoterAsk,
    Touch,
    UnsubscribeToken,
)

__all__ = [
    "SENT_STATES",
    "Enrollment",
    "LetterBatch",
    "LiftTally",
    "Program",
    "PromoterAsk",
    "ProviderEvent",
    "SegmentFollow",
    "Step",
    "StepVariant",
    "Touch",
    "UnmatchedReply",
    "UnsubscribeToken",
]
