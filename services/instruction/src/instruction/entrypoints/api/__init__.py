from fastapi import APIRouter

from instruction.entrypoints.api.authorisations import router as authorisations_router
from instruction.entrypoints.api.cases import router as cases_router

routers: list[APIRouter] = [cases_router, authorisations_router]
