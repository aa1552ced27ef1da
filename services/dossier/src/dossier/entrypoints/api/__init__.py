from fastapi import APIRouter

from dossier.entrypoints.api import dossiers, internal, search

routers: list[APIRouter] = [dossiers.router, search.search_router, search.authorisations_router, internal.router]
