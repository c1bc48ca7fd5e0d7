"""The issuer service: VC-API over Flask, status lists, kill switch, audit, SQLite or PostgreSQL.

Run it with ``accredit serve`` (a production HTTP server; ``--workers N`` for several processes).
``create_app()`` is a WSGI app for embedding; a server in front of it must buffer request bodies
and time out slow clients, as ``accredit serve`` does.
"""

from .app import create_app
from .config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
