from fastapi import APIRouter

from classification.entrypoints.api.routes import internal, router

routers: list[APIRouter] = [router, internal]
