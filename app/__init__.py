"""GLM-V Desktop: a desktop assistant for the GLM-V vision-language models."""

__version__ = "0.1.0"
