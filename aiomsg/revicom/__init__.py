"""Revicom: stop messages by uuid."""

from .client import DEFAULT_REVICOM_URL, Revicom

__all__ = ["DEFAULT_REVICOM_URL", "Revicom"]
