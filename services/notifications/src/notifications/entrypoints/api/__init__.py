from fastapi import APIRouter

from notifications.entrypoints.api.notifications import router as notifications_router
from notifications.entrypoints.api.supervision import router as supervision_router
from notifications.entrypoints.api.webhooks import router as webhooks_router

routers: list[APIRouter] = [notifications_router, supervision_router, webhooks_router]
