"""adoptbot: answers questions about adopting generative AI from a curated knowledge base."""

__version__ = "0.1.0"
