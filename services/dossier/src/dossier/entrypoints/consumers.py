from collections.abc import Sequence

from eaps_contracts.events import documents_v1
from eaps_kit.messaging import Subscription
from eaps_kit.service import Runtime

from dossier.service_layer.reactions import instruction_events, on_document_event, on_instruction_event


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    return [
        Subscription(purpose="instruction-events", events=instruction_events(), handler=on_instruction_event),
        Subscription(purpose="document-verdicts",
                     events=[documents_v1.DocumentStoredV1, documents_v1.DocumentRejectedV1],
                     handler=on_document_event),
    ]
