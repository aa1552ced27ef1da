from collections.abc import Sequence

from eaps_kit.messaging import Subscription
from eaps_kit.service import Runtime


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    return []
