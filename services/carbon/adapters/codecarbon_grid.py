"""Grid carbon intensity from CodeCarbon's bundled data (offline, no network), with its source.

Uses CodeCarbon's own `Emissions` on 1 kWh, so the figure is exactly the one CodeCarbon applies;
the source label says which table it came from. No country configured means the world average:
flagged as a fallback, never silent. An unknown country or region is refused with a clear error.
"""

from __future__ import annotations

from typing import Any

from services.carbon.domain import CarbonIntensity, UnknownGridError

REGIONAL_COUNTRIES = ("USA", "CAN", "CHN", "SWE", "NOR", "FIN")  # CodeCarbon has sub-national data for these
ONE_KWH = 1.0


class CodeCarbonGrid:
    def __init__(self, country_iso_code: str | None, region: str | None = None) -> None:
        self.country_iso_code = country_iso_code
        self.region = region
        self._intensity: CarbonIntensity | None = None

    def current(self) -> CarbonIntensity:
        if self._intensity is None:
            self._intensity = self._resolve()
        return self._intensity

    def _resolve(self) -> CarbonIntensity:
        from codecarbon import __version__
        from codecarbon.input import DataSource

        data = DataSource()
        if self.country_iso_code is None:
            world = float(data.get_carbon_intensity_per_source_data()["world_average"])  # gCO2eq/kWh
            source = (
                f"CodeCarbon {__version__} world average; no country configured (GREENTUNE_CARBON_COUNTRY_ISO_CODE)"
            )
            return CarbonIntensity(world, source, is_fallback=True)
        country = data.get_global_energy_mix_data().get(self.country_iso_code)
        if country is None:
            raise UnknownGridError(
                f"GREENTUNE_CARBON_COUNTRY_ISO_CODE={self.country_iso_code}: CodeCarbon {__version__} has no "
                "energy-mix data for it; use an ISO 3166-1 alpha-3 code such as FRA, DEU or USA, "
                "or leave it unset to use the (flagged) world average"
            )
        g_per_kwh, source = self._lookup(data, f"CodeCarbon {__version__}", country)
        return CarbonIntensity(g_per_kwh, source, False, self.country_iso_code, self.region)

    def _lookup(self, data: Any, version: str, country: dict[str, Any]) -> tuple[float, str]:
        from codecarbon.core.emissions import Emissions
        from codecarbon.core.units import Energy
        from codecarbon.external.geography import GeoMetadata

        emissions = Emissions(data)
        energy = Energy.from_energy(kWh=ONE_KWH)
        geo = GeoMetadata(country_iso_code=self.country_iso_code, region=self.region)
        national = float(emissions.get_country_emissions(energy, geo)) * 1000.0  # kg -> g per kWh
        label = f"{version} energy mix {self.country_iso_code} ({country.get('country_name')}, {country.get('year')})"
        if not self.region:
            return national, label
        if self.country_iso_code not in REGIONAL_COUNTRIES:
            return national, f"{label}; region {self.region!r} ignored (regional data only for {REGIONAL_COUNTRIES})"
        try:
            regional = float(emissions.get_region_emissions(energy, geo)) * 1000.0
        except Exception as exc:  # CodeCarbon raises KeyError/ValueError for a region it does not know
            raise UnknownGridError(
                f"GREENTUNE_CARBON_REGION={self.region}: CodeCarbon has no data for it in {self.country_iso_code} "
                f"({exc!r}); check the spelling (e.g. 'california') or leave the region unset"
            ) from exc
        if regional == national:
            return national, f"{label}; region {self.region!r} not in CodeCarbon's regional tables"
        return regional, f"{version} regional data {self.country_iso_code}/{self.region}"
