"""Knowledge base: schema, loader, cross-checks, search."""

from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.loader import KNOWLEDGE_DIR, load_knowledge

__all__ = ["KNOWLEDGE_DIR", "KnowledgeBase", "load_knowledge"]
