/**
 * Calls `task` now and then `intervalMs` after each run ends (never two at once). Returns a
 * function that stops it; use as the return value of an $effect.
 */
export function poll(task: () => Promise<void>, intervalMs: number): () => void {
	let stopped = false;
	let timer: ReturnType<typeof setTimeout> | undefined;
	const run = async () => {
		await task().catch(() => undefined);
		if (!stopped) timer = setTimeout(run, intervalMs);
	};
	void run();
	return () => {
		stopped = true;
		clearTimeout(timer);
	};
}
