"""The one record of every customer: people, accounts, the ladder and everything logged on them.

The models live in modules by concern; Django and `customers.models.X` find them all here.
"""

from customers.models.activity import (
    Complaint,
    Contract,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Reward,
    RewardPolicy,
    RewardRule,
)
from customers.models.imports import ImportChunk, ImportJob, ImportRejection
from customers.models.ladder import BondChange, BondStage, Tier, TierChange
from customers.models.preferences import (
    Frequency,
    PreferenceToken,
    Topic,
    ValueAnswer,
    ValueQuestion,
)
from customers.models.record import (
    TIME_ZONES,
    Account,
    Audience,
    Channel,
    ConsentChange,
    Customer,
    PartnerKind,
    Relationship,
    TimelineEntry,
    validate_timezone,
)
from customers.models.segment import ListColumns, Segment, SegmentCount
from customers.models.static_list import StaticList, StaticListMember
from customers.models.valuation import ValueModel

__all__ = [
    "StaticList",
    "StaticListMember",
    "RewardPolicy",
    "Frequency",
    "PreferenceToken",
    "Topic",
    "ValueAnswer",
    "ValueQuestion",
    "Account",
    "Audience",
    "BondChange",
    "BondStage",
    "Channel",
    "Complaint",
    "ConsentChange",
    "Contract",
    "Customer",
    "FollowUp",
    "ImportChunk",
    "ImportJob",
    "ImportRejection",
    "Interaction",
    "ListColumns",
    "PartnerKind",
    "Purchase",
    "Referral",
    "Relationship",
    "Reward",
    "RewardRule",
    "Segment",
    "SegmentCount",
    "TIME_ZONES",
    "Tier",
    "TierChange",
    "TimelineEntry",
    "ValueModel",
    "validate_timezone",
]
