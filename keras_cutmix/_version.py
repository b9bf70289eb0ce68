"""The version of keras_cutmix, in one place (read by pyproject.toml)."""

__version__ = "0.2.0"
