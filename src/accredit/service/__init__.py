"""The issuer service: VC-API over Flask, status lists, kill switch, audit, SQLite or PostgreSQL.

Run it with ``accredit serve``, or under gunicorn::

    gunicorn -w 4 -b 127.0.0.1:8080 'accredit.service:create_app()'
"""

from .app import create_app
from .config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
