from fastapi import APIRouter

from documents.entrypoints.api import internal, library

routers: list[APIRouter] = [library.router, internal.router]
