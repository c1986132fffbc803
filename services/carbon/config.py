"""Settings of the carbon meter and the carbon service (env prefix GREENTUNE_CARBON_).

The country/region pick the grid's carbon intensity; leaving the country empty is allowed but the
world-average fallback is then flagged on every figure. Every bad value is reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CarbonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_CARBON_", extra="ignore")

    country_iso_code: str | None = Field(
        None, description="ISO 3166-1 alpha-3 country of the grid (e.g. FRA); unset = flagged world average."
    )
    region: str | None = Field(None, description="Region within the country (US states, Canadian provinces...).")
    pue: float = Field(1.0, ge=1.0, le=3.0, description="Power usage effectiveness of the data centre.")
    interval_seconds: float = Field(10.0, gt=0, le=3600, description="EmissionsMeasured every N seconds.")
    tracking_mode: Literal["machine", "process"] = Field(
        "machine", description="CodeCarbon: measure the whole machine or only this process tree."
    )
    view_path: Path | None = Field(None, description="Read model SQLite file (default <data dir>/views/carbon.sqlite).")

    @field_validator("country_iso_code")
    @classmethod
    def _alpha3(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-3 code such as FRA, USA or DEU")
        return value.upper()

    @field_validator("region")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() or None if value else None

    @model_validator(mode="after")
    def _region_needs_country(self) -> CarbonSettings:
        if self.region and not self.country_iso_code:
            raise ValueError(
                "GREENTUNE_CARBON_REGION needs GREENTUNE_CARBON_COUNTRY_ISO_CODE (e.g. USA for california)"
            )
        return self
