"""The officers' web portal, served by the internal edge under /agent.

Instructing officers, supervisors and PAE agents sign in with a password and a TOTP code; every
page calls the services only through the internal edge's API, with the person's own token, so
the edge's rules and each service's checks apply exactly as to any other client."""

from gateway.agent.portal import install_agent_portal

__all__ = ["install_agent_portal"]
