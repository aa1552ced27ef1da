"""The portals' shared foundation: settings, Redis sessions, the edge API client, CSRF, the
Jinja2 environment with the DSFR layout and form macros, French error pages, static files.

    from gateway.portal.common import Ctx, Portal, PortalConfig, PortalSettings, install_portal_support
"""

from gateway.portal.common.api import ApiClient, ApiError, SessionExpired
from gateway.portal.common.core import CsrfError, Ctx, Portal, PortalConfig, form_errors, safe_return_path
from gateway.portal.common.settings import PortalSettings
from gateway.portal.common.web import install_portal_support

__all__ = ["ApiClient", "ApiError", "CsrfError", "Ctx", "Portal", "PortalConfig", "PortalSettings",
           "SessionExpired", "form_errors", "install_portal_support", "safe_return_path"]
