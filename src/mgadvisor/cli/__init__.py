"""Command-line adapter (Typer + Rich)."""

from mgadvisor.cli import advice_commands as _advice  # noqa: F401  (registers the commands)
from mgadvisor.cli import audit_commands as _audit  # noqa: F401
from mgadvisor.cli import backup_commands as _backup  # noqa: F401
from mgadvisor.cli import batch_commands as _batch  # noqa: F401
from mgadvisor.cli import cds_commands as _cds  # noqa: F401
from mgadvisor.cli import commands as _commands  # noqa: F401
from mgadvisor.cli import db_commands as _db  # noqa: F401
from mgadvisor.cli import diet_commands as _diet  # noqa: F401
from mgadvisor.cli import fhir_commands as _fhir  # noqa: F401
from mgadvisor.cli import users_commands as _users  # noqa: F401
from mgadvisor.cli.app import app, main

__all__ = ["app", "main"]
