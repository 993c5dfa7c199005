"""Food composition: the bundled table plus tables the user imported (NEVO, USDA FDC)."""

from mgadvisor.foods.catalog import CatalogFood, FoodCatalog

__all__ = ["CatalogFood", "FoodCatalog"]
