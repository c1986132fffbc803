"""The carbon service: measures (CodeCarbon meter + EmissionsMeasured reporter), accounts (a read
model rebuilt from the log, reports, CSV), forecasts and enforces per-API-key budgets.

Importing this package is light: CodeCarbon is imported only inside services.carbon.adapters.
"""
