"""Renderers: turn codes and knowledge texts into Dutch or English output."""
