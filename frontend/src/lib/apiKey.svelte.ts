// The optional API key, kept in localStorage and sent as `Authorization: Bearer <key>`.

const STORAGE_KEY = 'greentune.apiKey';

function stored(): string {
	try {
		return localStorage.getItem(STORAGE_KEY) ?? '';
	} catch {
		return '';
	}
}

export const apiKey = $state({ value: stored() });

export function saveApiKey(value: string): void {
	apiKey.value = value.trim();
	try {
		if (apiKey.value) localStorage.setItem(STORAGE_KEY, apiKey.value);
		else localStorage.removeItem(STORAGE_KEY);
	} catch {
		// storage disabled (private mode): the key still works for this page's lifetime
	}
}

export function authHeaders(): Record<string, string> {
	return apiKey.value ? { Authorization: `Bearer ${apiKey.value}` } : {};
}
