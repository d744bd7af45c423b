"""Revicom: stop messages by uuid."""

from .client import DEFAULT_REVICOM_URL, ENV_TOKEN, ENV_URL, Revicom

__all__ = ["DEFAULT_REVICOM_URL", "ENV_TOKEN", "ENV_URL", "Revicom"]
