"""The `planning` blueprint the plan and risk routes register on (its own module, so the
route modules need not import the package that imports them)."""
from flask import Blueprint

planning = Blueprint("planning", __name__)
