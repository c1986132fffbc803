"""Adapters of the carbon service: CodeCarbon (meter, grid intensity), imported lazily."""
