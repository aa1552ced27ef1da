"""Reactions to the dossier service's events: open, resume, close a case; the applicant's comments."""

from collections.abc import Sequence

from eaps_contracts.events.dossier_v1 import (
    DossierMessagePostedV1,
    DossierResubmittedV1,
    DossierSubmittedV1,
    DossierWithdrawnV1,
)
from eaps_kit.messaging import MessageContext, PermanentError, Subscription
from eaps_kit.service import Runtime

from instruction.service_layer import cases
from instruction.service_layer.context import Context


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    async def on_dossier_event(mc: MessageContext) -> None:
        ctx: Context = runtime.extras["ctx"]
        event = mc.event
        if isinstance(event, DossierSubmittedV1):
            await cases.open_case(mc.session, ctx, event)
        elif isinstance(event, DossierResubmittedV1):
            await cases.resume_after_completion(mc.session, ctx, event)
        elif isinstance(event, DossierWithdrawnV1):
            await cases.close_on_withdrawal(mc.session, ctx, event)
        elif isinstance(event, DossierMessagePostedV1):
            await cases.add_applicant_message(mc.session, ctx, event)
        else:
            raise PermanentError(f"unexpected event {mc.envelope.type}")

    return [Subscription(purpose="dossier-events", handler=on_dossier_event,
                         events=[DossierSubmittedV1, DossierResubmittedV1, DossierWithdrawnV1,
                                 DossierMessagePostedV1])]
