// Display formatting for numbers, sizes, energy, emissions and times.

const DASH = '—';

export function shortId(id: string): string {
	return id.slice(0, 8);
}

export function formatInteger(value: number | null | undefined): string {
	return value == null ? DASH : Math.round(value).toLocaleString('en-US');
}

/** A number with `digits` significant digits, without exponent notation for everyday sizes. */
export function formatSignificant(value: number, digits = 3): string {
	if (value === 0) return '0';
	const abs = Math.abs(value);
	if (abs >= 10 ** digits) return Math.round(value).toLocaleString('en-US');
	if (abs < 1e-6) return value.toExponential(digits - 1);
	return String(Number(value.toPrecision(digits)));
}

export function formatLoss(value: number | null | undefined): string {
	return value == null ? DASH : value.toFixed(4);
}

export function formatLearningRate(value: number | null | undefined): string {
	if (value == null) return DASH;
	return value !== 0 && Math.abs(value) < 0.01 ? value.toExponential(2) : String(value);
}

export function formatTokensPerSecond(value: number | null | undefined): string {
	return value == null ? DASH : `${formatSignificant(value, 3)} tok/s`;
}

export function formatEpoch(value: number | null | undefined): string {
	return value == null ? DASH : formatSignificant(value, 3);
}

/** Energy in the unit that keeps it readable: mWh, Wh or kWh. */
export function formatEnergy(kwh: number | null | undefined): string {
	if (kwh == null) return DASH;
	if (kwh === 0) return '0 Wh';
	const wh = kwh * 1000;
	if (wh < 1) return `${formatSignificant(wh * 1000)} mWh`;
	if (wh < 1000) return `${formatSignificant(wh)} Wh`;
	return `${formatSignificant(kwh)} kWh`;
}

/** CO2-equivalent in mg, g or kg. */
export function formatEmissions(grams: number | null | undefined): string {
	if (grams == null) return DASH;
	if (grams === 0) return '0 gCO₂eq';
	if (grams < 1) return `${formatSignificant(grams * 1000)} mgCO₂eq`;
	if (grams < 1000) return `${formatSignificant(grams)} gCO₂eq`;
	return `${formatSignificant(grams / 1000)} kgCO₂eq`;
}

export function formatBytes(bytes: number | null | undefined): string {
	if (bytes == null) return DASH;
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit += 1;
	}
	return unit === 0 ? `${bytes} B` : `${formatSignificant(value)} ${units[unit]}`;
}

export function formatParameters(count: number): string {
	if (count >= 1e9) return `${formatSignificant(count / 1e9)}B`;
	if (count >= 1e6) return `${formatSignificant(count / 1e6)}M`;
	if (count >= 1e3) return `${formatSignificant(count / 1e3)}K`;
	return String(count);
}

export function formatDuration(seconds: number | null | undefined): string {
	if (seconds == null) return DASH;
	if (seconds < 60) return `${formatSignificant(seconds)} s`;
	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
	return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatDateTime(iso: string | null | undefined): string {
	if (!iso) return DASH;
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return iso;
	return date.toLocaleString(undefined, {
		year: 'numeric',
		month: 'short',
		day: 'numeric',
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit'
	});
}

export function formatTime(iso: string | null | undefined): string {
	if (!iso) return DASH;
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return iso;
	return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "5 s ago", "3 min ago", "2 h ago", or the date for older times. */
export function formatAge(iso: string | null | undefined, now: number = Date.now()): string {
	if (!iso) return DASH;
	const then = new Date(iso).getTime();
	if (Number.isNaN(then)) return iso;
	const seconds = Math.max(0, Math.round((now - then) / 1000));
	if (seconds < 60) return `${seconds} s ago`;
	if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
	if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
	return formatDateTime(iso);
}
