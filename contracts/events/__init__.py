"""Event models, one module per aggregate type. `contracts.catalog` lists them all."""
